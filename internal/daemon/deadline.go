package daemon

import (
	"io"
	"net/http"
	"time"
)

// Defaults for the TCP API's read limits (Config.HeaderTimeout, Config.BodyTimeout).
const (
	DefaultHeaderTimeout = 5 * time.Second
	DefaultBodyTimeout   = 30 * time.Second
)

// bodyDeadline gives a request with a body d to send all of it: a client that trickles a
// body is cut off when d passes, however slowly it keeps sending. The deadline is set per
// request, not as http.Server.ReadTimeout, because a read deadline still pending while a
// handler runs ends the request's context: event streams (bodyless GETs) must keep theirs.
// Once the body is read the deadline is lifted for the same reason.
func bodyDeadline(h http.Handler, d time.Duration) http.Handler {
	if d <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
			rc := http.NewResponseController(w)
			if rc.SetReadDeadline(time.Now().Add(d)) == nil {
				r.Body = &liftOnEOF{ReadCloser: r.Body, rc: rc}
			}
		}
		h.ServeHTTP(w, r)
	})
}

// liftOnEOF clears the connection's read deadline once the body has been read to its end.
type liftOnEOF struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *liftOnEOF) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}
