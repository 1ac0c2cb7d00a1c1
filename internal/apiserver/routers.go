package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/cutover/cutover/internal/api"
)

// Routers is what the API needs of the routers serving the server's table (package
// routerhub): the table for following routers, their reports, and the list.
type Routers interface {
	Table(ctx context.Context, epoch int64, version uint64, wait time.Duration) api.RouterTable
	Report(addr string, r api.RouterReport) error
	Routers() []api.RouterInfo
}

// maxTableWait bounds a watch's long poll.
const maxTableWait = 60 * time.Second

func (s *server) routerTable(w http.ResponseWriter, r *http.Request) error {
	if s.routers == nil {
		return notFound("this server has no router hub: routers cannot follow it")
	}
	q := r.URL.Query()
	var (
		epoch   int64
		version uint64
		wait    time.Duration
		err     error
	)
	if v := q.Get("epoch"); v != "" {
		if epoch, err = strconv.ParseInt(v, 10, 64); err != nil {
			return badRequest(fmt.Sprintf("epoch=%q: give the epoch of the table you serve, a number", v))
		}
	}
	if v := q.Get("version"); v != "" {
		if version, err = strconv.ParseUint(v, 10, 64); err != nil {
			return badRequest(fmt.Sprintf("version=%q: give the version of the table you serve, a number", v))
		}
	}
	if v := q.Get("wait"); v != "" {
		if wait, err = time.ParseDuration(v); err != nil || wait < 0 || wait > maxTableWait {
			return badRequest(fmt.Sprintf("wait=%q: give a duration from 0s to %s", v, maxTableWait))
		}
	}
	writeJSON(w, http.StatusOK, s.routers.Table(r.Context(), epoch, version, wait))
	return nil
}

func (s *server) routerReport(w http.ResponseWriter, r *http.Request) error {
	if s.routers == nil {
		return notFound("this server has no router hub: routers cannot follow it")
	}
	data, err := readBody(w, r)
	if err != nil {
		return err
	}
	var rep api.RouterReport
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		return badRequest("the body must be a JSON RouterReport: " + err.Error())
	}
	if err := s.routers.Report(r.RemoteAddr, rep); err != nil {
		return badRequest(err.Error())
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) listRouters(w http.ResponseWriter, r *http.Request) error {
	if s.routers == nil {
		writeJSON(w, http.StatusOK, []api.RouterInfo{})
		return nil
	}
	writeJSON(w, http.StatusOK, s.routers.Routers())
	return nil
}
