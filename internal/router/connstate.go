package router

// What a connection keeps from one message to the next so that the HTTP/1.1 path allocates
// nothing per request: the parsed request (reqState), header maps with reused value slots
// and strings (headCache), the parsed upstream response (respState), and a read deadline
// that moves lazily (readDeadline). Whatever a message holds is only valid until the next
// head is read on the same connection.

import (
	"net"
	"net/http"
	"net/url"
	"time"
)

// reqState is what a connection reuses from one request head to the next: the request,
// its URL and header map, and the strings of field values that repeat the previous
// request's (the same Host, User-Agent, Accept... on every request of a keep-alive client).
// A request's values are only valid until the next head is read on the connection.
type reqState struct {
	hr   h1Request
	req  http.Request
	url  url.URL
	head headCache
	uri  string // the previous request target
}

// methodString returns the method as a string, without allocating for the common ones.
func methodString(b []byte) string {
	switch string(b) {
	case "GET":
		return http.MethodGet
	case "HEAD":
		return http.MethodHead
	case "POST":
		return http.MethodPost
	case "PUT":
		return http.MethodPut
	case "PATCH":
		return http.MethodPatch
	case "DELETE":
		return http.MethodDelete
	case "OPTIONS":
		return http.MethodOptions
	case "CONNECT":
		return http.MethodConnect
	}
	return string(b)
}

// headCache lets a connection parse heads with few allocations: the header map is reused
// (cleared) for each head, a field's first value takes a slot of a reused array instead of a
// new slice, and a field whose value repeats the one of the previous head (Server,
// Content-Type, often Date; a client's Host, User-Agent, Accept...) reuses its string. What
// a head holds is only valid until the next head is read into the same cache.
type headCache struct {
	h     http.Header
	vals  map[string]string
	slots []string
}

func (c *headCache) header() http.Header {
	if c.h == nil {
		c.h = make(http.Header, 8)
	} else {
		clear(c.h)
	}
	clear(c.slots)
	c.slots = c.slots[:0]
	return c.h
}

func (c *headCache) value(key string, v []byte) string {
	if prev, ok := c.vals[key]; ok && prev == string(v) {
		return prev
	}
	s := string(v)
	if c.vals == nil {
		c.vals = make(map[string]string, 8)
	}
	if len(c.vals) < 32 {
		c.vals[key] = s
	}
	return s
}

// add appends a field value to h.
func (c *headCache) add(h http.Header, key, v string) {
	if prior, ok := h[key]; ok {
		h[key] = append(prior, v) // the slot's capacity is exhausted: this never writes into one
		return
	}
	c.slots = append(c.slots, v)
	n := len(c.slots)
	h[key] = c.slots[n-1 : n : n]
}

// respState is what an upstream connection reuses from one response to the next.
type respState struct {
	resp http.Response
	head headCache
	body lengthBody
	conn [2]string
}

// readDeadline is a connection's read deadline, moved lazily: moving one costs a timer
// update, and a keep-alive connection would otherwise move it once or twice per request.
type readDeadline struct {
	nc net.Conn
	at time.Time // what is set on nc; zero for none
}

func (d *readDeadline) set(t time.Time) {
	d.at = t
	_ = d.nc.SetReadDeadline(t)
}

// extend makes the deadline at least now+timeout. A deadline that has to move is set an
// eighth of timeout further than asked, and one is left alone while it lies between
// now+timeout and a quarter of timeout past that, so a busy connection moves it a few times
// per timeout rather than per request. The timeout enforced lies between timeout and 5/4 of it.
func (d *readDeadline) extend(now time.Time, timeout time.Duration) {
	if want := now.Add(timeout); d.at.IsZero() || d.at.Before(want) || d.at.After(want.Add(timeout/4)) {
		d.set(want.Add(timeout / 8))
	}
}
