package routerctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cutover/cutover/internal/router"
	"github.com/cutover/cutover/internal/signals"
)

// maxTableBytes bounds a pushed table; a machine's table is a few KiB.
const maxTableBytes = 8 << 20

// control serves the control socket.
type control struct {
	r       *router.Router
	status  func() Status
	upgrade func(context.Context) (int, error)
	gate    func() (release func(), err error)
}

// errHandedOver refuses a table push to a router that handed its sockets to a new process:
// the client sends it again, and it reaches the new one.
var errHandedOver = errors.New("this router process handed over to an upgraded one; send the table again")

func newHandler(c *control) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(signals.NewCollector(c.r))
	// The server serves these beside its own go_* and process_* metrics: prefix them.
	prometheus.WrapRegistererWithPrefix("cutover_router_", reg).MustRegister(
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/ping", func(w http.ResponseWriter, _ *http.Request) { reply(w, http.StatusOK, c.status()) })
	mux.HandleFunc("GET /v1/table", func(w http.ResponseWriter, _ *http.Request) { reply(w, http.StatusOK, c.r.Table()) })
	mux.HandleFunc("PUT /v1/table", c.putTable)
	mux.HandleFunc("GET /v1/health/{app}", func(w http.ResponseWriter, req *http.Request) {
		reply(w, http.StatusOK, c.r.Health(req.PathValue("app")))
	})
	mux.HandleFunc("GET /v1/signals/{app}", c.getSignals)
	mux.HandleFunc("GET /v1/draining", func(w http.ResponseWriter, _ *http.Request) { reply(w, http.StatusOK, c.r.Draining()) })
	mux.HandleFunc("POST /v1/wait-drained", c.waitDrained)
	mux.HandleFunc("POST /v1/upgrade", c.postUpgrade)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}

func (c *control) putTable(w http.ResponseWriter, req *http.Request) {
	release, err := c.gate()
	if err != nil {
		w.Header().Set("Retry-After", "0")
		fail(w, http.StatusServiceUnavailable, err)
		return
	}
	defer release()
	t, err := router.DecodeTable(http.MaxBytesReader(w, req.Body, maxTableBytes))
	if err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	if err := c.r.Apply(t); err != nil {
		fail(w, http.StatusUnprocessableEntity, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (c *control) getSignals(w http.ResponseWriter, req *http.Request) {
	window, err := time.ParseDuration(req.URL.Query().Get("window"))
	if err != nil || window <= 0 {
		fail(w, http.StatusBadRequest, fmt.Errorf("window: give a positive duration such as 30s"))
		return
	}
	s, ok := c.r.Signals(req.PathValue("app"), window)
	if !ok {
		fail(w, http.StatusNotFound, fmt.Errorf("app %q is not in the table", req.PathValue("app")))
		return
	}
	reply(w, http.StatusOK, toWire(s))
}

func (c *control) waitDrained(w http.ResponseWriter, req *http.Request) {
	var in waitRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, req.Body, 1<<20)).Decode(&in); err != nil {
		fail(w, http.StatusBadRequest, fmt.Errorf("wait-drained body: %w", err))
		return
	}
	n, err := c.r.WaitDrained(req.Context(), in.IDs, in.Deadline)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		fail(w, http.StatusConflict, err)
		return
	}
	reply(w, http.StatusOK, waitResponse{Remaining: n})
}

func (c *control) postUpgrade(w http.ResponseWriter, req *http.Request) {
	pid, err := c.upgrade(req.Context())
	if err != nil {
		fail(w, http.StatusInternalServerError, err)
		return
	}
	reply(w, http.StatusOK, map[string]int{"pid": pid})
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code int, err error) { reply(w, code, errorBody{Error: err.Error()}) }
