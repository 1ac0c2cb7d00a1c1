package signals

import (
	"sort"
	"time"
)

// Series is a ring of cumulative snapshots someone else took — another router reporting
// its counters — so that windows over them can be read as from a Recorder. It is not safe
// for concurrent use; its owner locks.
type Series struct {
	ring []sample
	head int
	cap  int
}

// NewSeries keeps up to size samples (at least 2).
func NewSeries(size int) *Series { return &Series{cap: max(size, 2)} }

// Add appends the cumulative snapshot s stamped at; one older than the newest is ignored,
// and one whose counters went down (the reporter restarted) starts the series over.
func (r *Series) Add(at time.Time, s Snapshot) {
	if n := len(r.ring); n > 0 {
		last := r.ring[r.at(n-1)]
		if at.Before(last.at) {
			return
		}
		if s.Total() < last.snap.Total() {
			r.ring, r.head = r.ring[:0], 0
		}
	}
	if len(r.ring) < r.cap {
		r.ring = append(r.ring, sample{at: at, snap: s})
		return
	}
	r.ring[r.head] = sample{at: at, snap: s}
	r.head = (r.head + 1) % len(r.ring)
}

func (r *Series) at(i int) int { return (r.head + i) % len(r.ring) }

// Newest is when the last sample was taken (zero with none).
func (r *Series) Newest() time.Time {
	if len(r.ring) == 0 {
		return time.Time{}
	}
	return r.ring[r.at(len(r.ring)-1)].at
}

// Window is the traffic over the last d before now: the newest sample minus the newest one
// at or before now-d (or the oldest, for a shorter window). Span is the time between them;
// InFlight is the newest sample's. With fewer than two samples it is empty.
func (r *Series) Window(now time.Time, d time.Duration) Snapshot {
	n := len(r.ring)
	if n < 2 {
		return Snapshot{}
	}
	newest := r.ring[r.at(n-1)]
	cutoff := now.Add(-d)
	k := sort.Search(n, func(i int) bool { return r.ring[r.at(i)].at.After(cutoff) })
	base := r.ring[r.at(max(k-1, 0))]
	w := newest.snap.Sub(base.snap)
	w.InFlight = newest.snap.InFlight
	w.Span = max(newest.at.Sub(base.at), 0)
	return w
}
