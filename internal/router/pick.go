package router

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
)

// Balancing within a pool is power-of-two-choices over in-flight requests: two random
// instances are compared and the one with fewer requests outstanding wins. It needs no lock
// and no shared cursor (a round-robin counter would be one hot cache line across cores), it
// adapts to a slow instance within a few requests like least-outstanding does, and unlike a
// strict least-outstanding scan it does not stampede a freshly added instance.
func (p *pool) pick(now int64, exclude *backend) *backend {
	if b := p.pickAvailable(now, exclude); b != nil {
		return b
	}
	// Nothing proven healthy: an instance still waiting for its first probe is better than
	// no answer (a rollback to instances re-added a moment ago, say).
	for _, b := range p.backends {
		if b != exclude && b.pending.Load() && b.ejectedUntil.Load() <= now {
			return b
		}
	}
	return nil
}

func (p *pool) pickAvailable(now int64, exclude *backend) *backend {
	bs := p.backends
	switch n := len(bs); n {
	case 0:
		return nil
	case 1:
		if b := bs[0]; b != exclude && b.available(now) {
			return b
		}
		return nil
	default:
		i := rand.IntN(n)
		j := rand.IntN(n - 1)
		if j >= i {
			j++
		}
		a, b := bs[i], bs[j]
		okA := a != exclude && a.available(now)
		okB := b != exclude && b.available(now)
		switch {
		case okA && okB:
			if b.inflight.Load() < a.inflight.Load() {
				return b
			}
			return a
		case okA:
			return a
		case okB:
			return b
		}
		// Both candidates are out: scan from a random start for any available one.
		for k := 0; k < n; k++ {
			if c := bs[(i+k)%n]; c != exclude && c.available(now) {
				return c
			}
		}
		return nil
	}
}

// choice is the pool a request goes to and why.
type choice struct {
	pool      *pool
	other     *pool // where to fail over when pool has nobody available; nil when forced
	setBucket int   // >= 0: a fresh cohort bucket to set as a cookie
}

// choose decides blue or green for a request. Test listeners always pick green; an override
// header or cookie forces a version; otherwise the client's sticky cohort bucket is compared
// with the green weight: buckets below the weight go green, so raising the weight moves only
// the clients whose bucket it crosses.
func (a *appRoute) choose(r *http.Request, test bool) choice {
	if test {
		return choice{pool: &a.green, setBucket: -1}
	}
	if !a.override.Disabled {
		if p := a.forced(r); p != nil {
			return choice{pool: p, setBucket: -1}
		}
	}
	switch {
	case a.weight <= 0:
		return choice{pool: &a.blue, other: &a.green, setBucket: -1}
	case a.weight >= WeightScale:
		return choice{pool: &a.green, other: &a.blue, setBucket: -1}
	}
	bucket, gen, ok := cookieBucket(r, a.bucketName)
	if ok && gen < a.rebalance && bucket >= a.weight {
		ok = false // re-balanced: split again by the sequence
	}
	set := -1
	if ok {
		a.seen.mark(bucket)
	} else {
		bucket = a.cohort.next(a.weight)
		set = bucket
	}
	if bucket < a.weight {
		return choice{pool: &a.green, other: &a.blue, setBucket: set}
	}
	return choice{pool: &a.blue, other: &a.green, setBucket: set}
}

func (a *appRoute) forced(r *http.Request) *pool {
	v := r.Header.Get(a.override.Header)
	if v == "" {
		v, _ = cookieValue(r, a.override.Cookie)
	}
	switch strings.ToLower(v) {
	case "green":
		return &a.green
	case "blue":
		return &a.blue
	}
	return nil
}

// cookieBucket reads the sticky bucket cookie, "BUCKET" or "BUCKET.GEN" (GEN: the app's
// re-balance generation when it was set); a missing or malformed one reports !ok.
func cookieBucket(r *http.Request, name string) (bucket int, gen int64, ok bool) {
	v, ok := cookieValue(r, name)
	if !ok {
		return 0, 0, false
	}
	b, g, dotted := strings.Cut(v, ".")
	n, err := strconv.Atoi(b)
	if err != nil || n < 0 || n >= WeightScale {
		return 0, 0, false
	}
	if dotted {
		if gen, err = strconv.ParseInt(g, 10, 64); err != nil || gen < 0 {
			return 0, 0, false
		}
	}
	return n, gen, true
}

// cookieValue finds one cookie without parsing (and allocating) all of them.
func cookieValue(r *http.Request, name string) (string, bool) {
	for _, line := range r.Header["Cookie"] {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			k, v, found := strings.Cut(part, "=")
			if found && k == name {
				return strings.Trim(v, `"`), true
			}
		}
	}
	return "", false
}

// bucketCookie is the Set-Cookie value that pins a client to its cohort for a day.
func bucketCookie(name string, bucket int, gen int64) string {
	return string(appendBucketCookie(nil, name, bucket, gen))
}

func appendBucketCookie(b []byte, name string, bucket int, gen int64) []byte {
	b = append(b, name...)
	b = append(b, '=')
	b = strconv.AppendInt(b, int64(bucket), 10)
	if gen > 0 {
		b = append(b, '.')
		b = strconv.AppendInt(b, gen, 10)
	}
	return append(b, "; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax"...)
}

// bucketSetter is a ResponseWriter that writes the cohort cookie itself (the HTTP/1.1 fast
// path), sparing a string and a header slice per response.
type bucketSetter interface {
	setBucketCookie(name string, bucket int, gen int64)
}
