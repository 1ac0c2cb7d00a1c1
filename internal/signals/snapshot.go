package signals

import (
	"math"
	"time"
)

// Snapshot is a set of traffic counters for one instance or, after Add, for a group of them.
// From Recorder.Snapshot it holds everything since the recorder was created (Span 0); from
// Recorder.Window it holds the difference over a recent window (Span > 0). A Snapshot is a
// plain value: copying it is safe and cheap enough for once-a-second use.
type Snapshot struct {
	// Requests counts finished requests by status class: index 1 to 5 for 1xx to 5xx, index 0
	// for anything else (status 0 means the client got no response from an upstream).
	Requests [6]uint64
	// Latency counts finished requests per latency bucket (see BucketUpperBound). Counts are
	// per bucket, not cumulative.
	Latency [NumBuckets]uint64
	// LatencySumNanos is the sum of all recorded latencies in nanoseconds.
	LatencySumNanos uint64
	// BytesIn and BytesOut count request and response body bytes.
	BytesIn, BytesOut uint64
	// InFlight is the number of requests begun and not yet ended when the snapshot was taken.
	// It is a gauge: windows report the current value, not a difference.
	InFlight int64
	// Span is the time the counters cover: 0 for a cumulative snapshot, the window actually
	// covered for one returned by Window.
	Span time.Duration
}

// Sub returns s minus o, counter by counter, for an earlier snapshot o of the same source.
// Counters saturate at zero rather than wrap, so a mismatched pair yields zeros instead of
// huge numbers. InFlight and Span are taken from s: one is a gauge and the other is set by
// whoever knows the times of the two snapshots.
func (s Snapshot) Sub(o Snapshot) Snapshot {
	r := s
	for i := range r.Requests {
		r.Requests[i] = subSat(s.Requests[i], o.Requests[i])
	}
	for i := range r.Latency {
		r.Latency[i] = subSat(s.Latency[i], o.Latency[i])
	}
	r.LatencySumNanos = subSat(s.LatencySumNanos, o.LatencySumNanos)
	r.BytesIn = subSat(s.BytesIn, o.BytesIn)
	r.BytesOut = subSat(s.BytesOut, o.BytesOut)
	return r
}

func subSat(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

// Add returns the sum of s and o, for aggregating the instances of one version. Counters and
// InFlight add up. Span is the longer of the two: instances windowed over the same period
// cover it together, and one that started late simply contributed nothing before it started,
// so the sum's Rate is the sum of the instances' rates over the common window.
func (s Snapshot) Add(o Snapshot) Snapshot {
	r := s
	for i := range r.Requests {
		r.Requests[i] += o.Requests[i]
	}
	for i := range r.Latency {
		r.Latency[i] += o.Latency[i]
	}
	r.LatencySumNanos += o.LatencySumNanos
	r.BytesIn += o.BytesIn
	r.BytesOut += o.BytesOut
	r.InFlight += o.InFlight
	r.Span = max(s.Span, o.Span)
	return r
}

// Total returns the number of finished requests of every status class.
func (s Snapshot) Total() uint64 {
	var n uint64
	for _, c := range s.Requests {
		n += c
	}
	return n
}

// Errors returns the number of requests that ended with a 5xx status.
func (s Snapshot) Errors() uint64 { return s.Requests[5] }

// ErrorRate returns the share of requests that ended with a 5xx status, from 0 to 1; it is 0
// when there were no requests.
func (s Snapshot) ErrorRate() float64 {
	t := s.Total()
	if t == 0 {
		return 0
	}
	return float64(s.Errors()) / float64(t)
}

// Rate returns finished requests per second over Span, or 0 when Span is not positive (as for
// a cumulative snapshot).
func (s Snapshot) Rate() float64 {
	if s.Span <= 0 {
		return 0
	}
	return float64(s.Total()) / s.Span.Seconds()
}

// Quantile estimates the q-quantile (0 ≤ q ≤ 1; values outside are clamped) of latency from
// the histogram, interpolating linearly inside the bucket where it falls, so the error is
// at most one bucket width (about 19%). It returns 0 when the histogram is empty. A quantile
// that falls in the overflow bucket is reported as that bucket's lower bound, the largest
// value the histogram can vouch for.
func (s Snapshot) Quantile(q float64) time.Duration {
	var count uint64
	for _, c := range s.Latency {
		count += c
	}
	if count == 0 {
		return 0
	}
	if math.IsNaN(q) || q < 0 {
		q = 0
	}
	q = min(q, 1)
	rank := q * float64(count)
	var cum uint64
	for i, c := range s.Latency {
		if c == 0 {
			continue
		}
		if float64(cum+c) < rank {
			cum += c
			continue
		}
		lo := bucketLowerBound(i)
		if i == NumBuckets-1 {
			return lo
		}
		hi := BucketUpperBound(i)
		frac := (rank - float64(cum)) / float64(c)
		return lo + time.Duration(frac*float64(hi-lo))
	}
	// Unreachable with rank ≤ count; keeps the compiler and careless edits honest.
	return bucketLowerBound(NumBuckets - 1)
}
