// Package authfail slows down and counts failed authentication (a wrong bearer token on the
// API, a wrong token at the dashboard's login) per client address: every failure waits a
// delay before it is answered, past a number of failures in a burst the address is answered
// 429, and each burst is logged once, not once per attempt.
//
// It must not know HTTP routes or tokens: callers say that something failed and from where.
package authfail

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Defaults for Options.
const (
	DefaultDelay  = time.Second
	DefaultLimit  = 10
	DefaultWindow = time.Minute
	maxAddrs      = 10000
)

// Options configure a Limiter.
type Options struct {
	// Delay is how long each failure waits before it is answered; default DefaultDelay.
	Delay time.Duration
	// Limit is how many failures of one burst are answered 401; later ones 429. A burst is
	// failures from one address less than Window apart. Defaults DefaultLimit, DefaultWindow.
	Limit  int
	Window time.Duration
	Now    func() time.Time
	Logger *slog.Logger
}

// Limiter holds the bursts of failures per address. Its zero value is not usable; use New.
type Limiter struct {
	opts   Options
	mu     sync.Mutex
	bursts map[string]*burst
}

type burst struct {
	last  time.Time
	count int
}

// New returns a Limiter with no failures recorded.
func New(opts Options) *Limiter {
	if opts.Delay <= 0 {
		opts.Delay = DefaultDelay
	}
	if opts.Limit <= 0 {
		opts.Limit = DefaultLimit
	}
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Limiter{opts: opts, bursts: map[string]*burst{}}
}

// Failed records a failure of what ("bearer token", "dashboard login") from remote (a
// host:port), logs it if it starts a burst, waits the delay (or until ctx ends) and reports
// whether the address is past its limit (answer 429, retry after the returned duration).
func (l *Limiter) Failed(ctx context.Context, remote, what string) (limited bool, retryAfter time.Duration) {
	addr := remote
	if h, _, err := net.SplitHostPort(remote); err == nil {
		addr = h
	}
	now := l.opts.Now()
	l.mu.Lock()
	b := l.bursts[addr]
	fresh := b == nil || now.Sub(b.last) >= l.opts.Window
	if fresh {
		if len(l.bursts) >= maxAddrs {
			l.pruneLocked(now)
		}
		b = &burst{}
		l.bursts[addr] = b
	}
	b.count++
	b.last = now
	limited = b.count > l.opts.Limit
	l.mu.Unlock()
	if fresh {
		l.opts.Logger.Warn("authentication failed: "+what+" refused; further failures from this address less than the window apart are not logged, and past the limit are answered 429",
			"remote", addr, "window", l.opts.Window, "limit", l.opts.Limit)
	}
	t := time.NewTimer(l.opts.Delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	return limited, l.opts.Window
}

// pruneLocked forgets the bursts that ended, and if none did, every burst: the map stays
// bounded whatever the number of addresses.
func (l *Limiter) pruneLocked(now time.Time) {
	for k, b := range l.bursts {
		if now.Sub(b.last) >= l.opts.Window {
			delete(l.bursts, k)
		}
	}
	if len(l.bursts) >= maxAddrs {
		clear(l.bursts)
	}
}
