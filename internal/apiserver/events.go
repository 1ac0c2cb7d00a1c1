package apiserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/engine"
)

// sse writes server-sent events: one "data: <json>" per notice, a comment as a keep-alive.
type sse struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func startSSE(w http.ResponseWriter) *sse {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
	h := w.Header()
	h.Set("Content-Type", mediaEvents)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s := &sse{w: w, rc: rc}
	s.flush()
	return s
}

func (s *sse) flush() { _ = s.rc.Flush() }

func (s *sse) send(n api.Notice) error {
	data, err := json.Marshal(n)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(s.w, "data: %s\n\n", data); err != nil {
		return err
	}
	s.flush()
	return nil
}

func (s *sse) ping() error {
	if _, err := fmt.Fprint(s.w, ": ping\n\n"); err != nil {
		return err
	}
	s.flush()
	return nil
}

// follow sends the notices keep accepts until the client goes, a write fails, last reports
// the stream complete, or the dashboard session that opened the stream ends (logout or
// expiry: a stream must not outlive the right to read it).
func (s *server) follow(r *http.Request, out *sse, feed <-chan engine.Notice, keep func(engine.Notice) bool, last func(engine.Notice) bool) {
	tick := time.NewTicker(s.ping)
	defer tick.Stop()
	var recheck <-chan time.Time
	if bySession(r.Context()) && s.sessions != nil {
		t := time.NewTicker(s.recheck)
		defer t.Stop()
		recheck = t.C
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-recheck:
			if role, _ := s.sessions.SessionRole(r); role == "" {
				return
			}
		case <-tick.C:
			if out.ping() != nil {
				return
			}
		case n := <-feed:
			if !keep(n) {
				continue
			}
			if out.send(toNotice(n)) != nil || last(n) {
				return
			}
		}
	}
}

func (s *server) events(w http.ResponseWriter, r *http.Request) error {
	app := r.URL.Query().Get("app")
	if app != "" {
		if _, err := s.eng.App(app); err != nil {
			return engineError(err, nil)
		}
	}
	release, err := s.acquireStream(r)
	if err != nil {
		return err
	}
	defer release()
	feed, stop := s.eng.Subscribe()
	defer stop()
	out := startSSE(w)
	s.follow(r, out, feed,
		func(n engine.Notice) bool { return app == "" || n.App == app },
		func(engine.Notice) bool { return false })
	return nil
}

// deploymentEvents replays a deployment's recorded events, then follows live ones until it
// ends. It subscribes before reading the record so that nothing falls between the two; an
// event both recorded and live is sent once.
func (s *server) deploymentEvents(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	release, err := s.acquireStream(r)
	if err != nil {
		return err
	}
	defer release()
	feed, stop := s.eng.Subscribe()
	defer stop()
	st, err := s.deployment(id)
	if err != nil {
		return err
	}
	evs, err := s.eng.Events(id)
	if err != nil {
		return err
	}
	out := startSSE(w)
	type key struct {
		at  int64 // UnixNano: a live time carries a monotonic reading, a stored one not
		msg string
	}
	sent := make(map[key]bool, len(evs))
	ended := st.Phase.Terminal()
	for _, e := range evs {
		sent[key{e.At.UnixNano(), e.Message}] = true
		ended = ended || e.Phase.Terminal()
		if out.send(api.Notice{App: st.App, Deployment: id, Event: toEvent(e)}) != nil {
			return nil
		}
	}
	if ended {
		return nil
	}
	s.follow(r, out, feed,
		func(n engine.Notice) bool {
			return n.Deployment == id && !sent[key{n.Event.At.UnixNano(), n.Event.Message}]
		},
		func(n engine.Notice) bool { return n.Event.Phase.Terminal() })
	return nil
}
