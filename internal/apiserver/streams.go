package apiserver

import (
	"crypto/sha256"
	"net/http"
	"strconv"
	"sync"

	"github.com/cutover/cutover/internal/api"
)

// DefaultMaxStreams bounds the event streams open at once per credential (Options.MaxStreams).
const DefaultMaxStreams = 32

// streams counts the open event streams per credential: the admin token, the read-only
// token, each dashboard session. The unix socket is not counted.
type streams struct {
	mu   sync.Mutex
	max  int
	open map[string]int
}

// credential names what let r in, for counting its streams; "" for the unix socket.
func credential(r *http.Request) string {
	if isLocal(r.Context()) {
		return ""
	}
	if bySession(r.Context()) {
		if c, err := r.Cookie(api.SessionCookie); err == nil {
			sum := sha256.Sum256([]byte(c.Value))
			return "session:" + string(sum[:])
		}
	}
	return "token:" + roleFrom(r.Context())
}

// acquire takes a stream for r's credential, or answers 429 when it has max open; release
// must be called when the stream ends.
func (s *server) acquireStream(r *http.Request) (release func(), err error) {
	key := credential(r)
	if key == "" {
		return func() {}, nil
	}
	st := &s.streams
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.open[key] >= st.max {
		return nil, &api.Error{Status: http.StatusTooManyRequests, Code: api.CodeTooManyRequests,
			Message: "this token (or dashboard session) has " + strconv.Itoa(st.max) + " event streams open, the most allowed: close one (or raise cutover server --max-streams-per-token)"}
	}
	st.open[key]++
	return func() {
		st.mu.Lock()
		defer st.mu.Unlock()
		if st.open[key]--; st.open[key] <= 0 {
			delete(st.open, key)
		}
	}, nil
}
