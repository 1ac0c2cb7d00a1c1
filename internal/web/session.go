package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/cutover/cutover/internal/api"
)

// CookieName is the dashboard's session cookie; CSRFHeader carries the session's CSRF token
// on every request that may change something.
const (
	CookieName = api.SessionCookie
	CSRFHeader = api.CSRFHeader
)

// session is what a session cookie stands for. It is never changed once made.
type session struct {
	role    string
	csrf    string
	expires time.Time
}

// sessions are held in memory only: a restarted server forgets them and every browser logs
// in again. The map is keyed by a hash of the cookie's value, so that looking one up takes
// no time that depends on how much of a guessed ID is right, and a heap dump holds no
// usable cookie.
type sessions struct {
	mu  sync.Mutex
	m   map[[sha256.Size]byte]session
	ttl time.Duration
	max int
	now func() time.Time
}

func newSessions(ttl time.Duration, max int, now func() time.Time) *sessions {
	return &sessions{m: map[[sha256.Size]byte]session{}, ttl: ttl, max: max, now: now}
}

// randomID is 32 random bytes, URL-safe base64.
func randomID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate a session ID: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// create starts a session with role and returns its ID (the cookie's value) and the session.
// When the store is full the expired sessions go first, then the one closest to expiry.
func (s *sessions) create(role string) (string, session, error) {
	id, err := randomID()
	if err != nil {
		return "", session{}, err
	}
	csrf, err := randomID()
	if err != nil {
		return "", session{}, err
	}
	now := s.now()
	ses := session{role: role, csrf: csrf, expires: now.Add(s.ttl)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= s.max {
		s.pruneLocked(now)
	}
	s.m[sha256.Sum256([]byte(id))] = ses
	return id, ses, nil
}

// pruneLocked drops expired sessions and, while the store is still full, the ones that
// expire first.
func (s *sessions) pruneLocked(now time.Time) {
	for k, v := range s.m {
		if !now.Before(v.expires) {
			delete(s.m, k)
		}
	}
	for len(s.m) >= s.max {
		var oldest [sha256.Size]byte
		first := true
		for k, v := range s.m {
			if first || v.expires.Before(s.m[oldest].expires) {
				oldest, first = k, false
			}
		}
		delete(s.m, oldest)
	}
}

// get returns the live session id names; an expired one is forgotten.
func (s *sessions) get(id string) (session, bool) {
	if id == "" {
		return session{}, false
	}
	key := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	ses, ok := s.m[key]
	if !ok {
		return session{}, false
	}
	if !s.now().Before(ses.expires) {
		delete(s.m, key)
		return session{}, false
	}
	return ses, true
}

func (s *sessions) delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, sha256.Sum256([]byte(id)))
}

// fromRequest is the live session r's cookie names.
func (s *sessions) fromRequest(r *http.Request) (id string, ses session, ok bool) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return "", session{}, false
	}
	ses, ok = s.get(c.Value)
	return c.Value, ses, ok
}

// csrfOK reports whether r carries ses's CSRF token, compared in constant time.
func csrfOK(r *http.Request, ses session) bool {
	got := r.Header.Get(CSRFHeader)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(ses.csrf)) == 1
}
