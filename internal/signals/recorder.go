// Package signals records the traffic the router proxies, per upstream instance, and turns it
// into the numbers a deployment is judged by: request and error counts, request rate, and
// latency quantiles, both since start and over sliding windows such as "the last 30 seconds".
// It also exports the same counters to Prometheus.
//
// Recording sits on the request path, so a Recorder is a fixed block of atomic counters:
// Begin and End are a handful of atomic adds, with no lock and no allocation. Windows come
// from a ring of cumulative samples that a sampler goroutine appends once a second; a window
// is the current counters minus the right sample. Counters only grow, so subtracting two
// snapshots is always meaningful and nothing on the request path ever resets them.
//
// The package knows instances and their counters. It does not know deployments, pools'
// weights or what makes a version healthy: the router owns the Recorders and the deployment
// engine (through analysis) decides what the numbers mean.
package signals

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultSamples is the ring size of NewRecorder: ten minutes of one-second samples, enough
// for any analysis window the spec allows.
const DefaultSamples = 600

// Recorder holds cumulative, monotonic counters for one instance. All methods are safe for
// concurrent use. Begin and End are meant for the request path; Sample and Window for a
// sampler and readers running at most a few times a second.
type Recorder struct {
	// The counters every request touches sit together, so one request dirties few cache lines.
	inFlight   atomic.Int64
	requests   [6]atomic.Uint64
	latencySum atomic.Uint64
	bytesIn    atomic.Uint64
	bytesOut   atomic.Uint64
	latency    [NumBuckets]atomic.Uint64

	mu      sync.Mutex
	ring    []sample // grows to capacity, then wraps; in time order from head
	head    int      // index of the oldest sample once the ring is full
	ringCap int
}

// sample is the recorder's cumulative snapshot at a point in time.
type sample struct {
	at   time.Time
	snap Snapshot
}

// NewRecorder returns a Recorder whose ring keeps DefaultSamples samples: with one Sample a
// second, windows reach back ten minutes.
func NewRecorder() *Recorder { return newRecorder(DefaultSamples) }

// newRecorder returns a Recorder whose ring keeps size samples (at least 1). The ring grows
// as samples arrive, so a short-lived recorder never pays for the full ring.
func newRecorder(size int) *Recorder {
	return &Recorder{ringCap: max(size, 1)}
}

// Begin marks the start of a request: it raises the in-flight gauge. Every Begin must be
// matched by exactly one End.
func (r *Recorder) Begin() { r.inFlight.Add(1) }

// End marks the end of a request begun with Begin: status is the status sent to the client
// (0 if none was), d the time from start to the end of the response, bytesIn and bytesOut the
// body bytes read and written (negative values, for "unknown", count as 0).
func (r *Recorder) End(status int, d time.Duration, bytesIn, bytesOut int64) {
	r.inFlight.Add(-1)
	r.requests[statusClass(status)].Add(1)
	r.latency[bucketIndex(d)].Add(1)
	if d > 0 {
		r.latencySum.Add(uint64(d))
	}
	if bytesIn > 0 {
		r.bytesIn.Add(uint64(bytesIn))
	}
	if bytesOut > 0 {
		r.bytesOut.Add(uint64(bytesOut))
	}
}

// statusClass returns the index into Snapshot.Requests for an HTTP status.
func statusClass(status int) int {
	if status < 100 || status > 599 {
		return 0
	}
	return status / 100
}

// Snapshot returns the counters since the recorder was created. The counters are read one by
// one while requests keep ending, so fields may disagree by the few requests that ended during
// the read (Total and the histogram count, say); each field on its own is exact and never
// goes backwards.
func (r *Recorder) Snapshot() Snapshot {
	var s Snapshot
	s.InFlight = r.inFlight.Load()
	for i := range s.Requests {
		s.Requests[i] = r.requests[i].Load()
	}
	for i := range s.Latency {
		s.Latency[i] = r.latency[i].Load()
	}
	s.LatencySumNanos = r.latencySum.Load()
	s.BytesIn = r.bytesIn.Load()
	s.BytesOut = r.bytesOut.Load()
	return s
}

// Sample appends the current cumulative counters to the ring, stamped with now; once the ring
// is full the oldest sample is dropped. A sampler calls it about once a second, and once right
// after creating the recorder so that early windows have a start. Samples must come in time
// order: one stamped before the newest sample is ignored.
func (r *Recorder) Sample(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.ring); n > 0 && now.Before(r.ring[r.index(n-1)].at) {
		return
	}
	// Read the counters under the lock so that a concurrent Window never pairs a sample with
	// counters read before it.
	s := sample{at: now, snap: r.Snapshot()}
	if len(r.ring) < r.ringCap {
		r.ring = append(r.ring, s)
		return
	}
	r.ring[r.head] = s
	r.head = (r.head + 1) % len(r.ring)
}

// index maps the i-th oldest sample to its slot in the ring.
func (r *Recorder) index(i int) int { return (r.head + i) % len(r.ring) }

// Window returns the traffic over the last d before now: the current counters minus the newest
// sample taken at or before now-d. If every sample is newer than that, the window starts at the
// oldest sample instead and is shorter than asked; with no samples at all it holds everything
// since the recorder was created. Span is the time actually covered (now minus the sample's
// time, never negative; 0 when there was no sample), and InFlight is the current value.
func (r *Recorder) Window(now time.Time, d time.Duration) Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.Snapshot()
	n := len(r.ring)
	if n == 0 {
		return cur
	}
	cutoff := now.Add(-d)
	// The number of samples at or before cutoff; the newest of them is the window's start.
	k := sort.Search(n, func(i int) bool { return r.ring[r.index(i)].at.After(cutoff) })
	base := r.ring[r.index(max(k-1, 0))]
	w := cur.Sub(base.snap)
	w.Span = max(now.Sub(base.at), 0)
	return w
}
