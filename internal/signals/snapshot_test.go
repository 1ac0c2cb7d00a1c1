package signals

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

func TestSnapshotArithmetic(t *testing.T) {
	a := Snapshot{
		Requests:        [6]uint64{1, 2, 90, 3, 4, 10},
		LatencySumNanos: 1000,
		BytesIn:         50,
		BytesOut:        500,
		InFlight:        3,
		Span:            10 * time.Second,
	}
	a.Latency[5] = 110
	b := Snapshot{
		Requests:        [6]uint64{0, 1, 40, 1, 2, 6},
		LatencySumNanos: 400,
		BytesIn:         20,
		BytesOut:        100,
		InFlight:        1,
		Span:            4 * time.Second,
	}
	b.Latency[5] = 50

	if got := a.Total(); got != 110 {
		t.Errorf("Total = %d, want 110", got)
	}
	if got := a.Errors(); got != 10 {
		t.Errorf("Errors = %d, want 10", got)
	}
	if got, want := a.ErrorRate(), 10.0/110; math.Abs(got-want) > 1e-12 {
		t.Errorf("ErrorRate = %v, want %v", got, want)
	}
	if got := a.Rate(); got != 11 {
		t.Errorf("Rate = %v, want 11/s", got)
	}

	sum := a.Add(b)
	wantSum := Snapshot{
		Requests:        [6]uint64{1, 3, 130, 4, 6, 16},
		LatencySumNanos: 1400,
		BytesIn:         70,
		BytesOut:        600,
		InFlight:        4,
		Span:            10 * time.Second,
	}
	wantSum.Latency[5] = 160
	if sum != wantSum {
		t.Errorf("Add = %+v\nwant %+v", sum, wantSum)
	}
	if got := sum.Sub(b); got.Requests != a.Requests || got.Latency != a.Latency ||
		got.LatencySumNanos != a.LatencySumNanos || got.BytesIn != a.BytesIn || got.BytesOut != a.BytesOut {
		t.Errorf("(a+b)-b = %+v, want the counters of a", got)
	}

	diff := a.Sub(b)
	wantDiff := Snapshot{
		Requests:        [6]uint64{1, 1, 50, 2, 2, 4},
		LatencySumNanos: 600,
		BytesIn:         30,
		BytesOut:        400,
		InFlight:        3,                // gauge: taken from the receiver
		Span:            10 * time.Second, // taken from the receiver
	}
	wantDiff.Latency[5] = 60
	if diff != wantDiff {
		t.Errorf("Sub = %+v\nwant %+v", diff, wantDiff)
	}
	// Subtracting the other way saturates at zero instead of wrapping.
	if got := b.Sub(a); got.Total() != 0 || got.Latency[5] != 0 || got.BytesOut != 0 {
		t.Errorf("b-a = %+v, want zero counters", got)
	}
}

func TestSnapshotEmpty(t *testing.T) {
	var s Snapshot
	if s.ErrorRate() != 0 || s.Rate() != 0 || s.Quantile(0.5) != 0 {
		t.Errorf("empty snapshot: ErrorRate %v, Rate %v, p50 %v; want all 0", s.ErrorRate(), s.Rate(), s.Quantile(0.5))
	}
	s.Requests[2] = 10 // requests but Span 0: a cumulative snapshot has no rate
	if s.Rate() != 0 {
		t.Errorf("Rate with Span 0 = %v, want 0", s.Rate())
	}
}

func TestQuantileAccuracy(t *testing.T) {
	r := NewRecorder()
	rng := rand.New(rand.NewPCG(5, 6))
	vals := make([]time.Duration, 10_000)
	for i := range vals {
		vals[i] = time.Millisecond + time.Duration(rng.Int64N(int64(99*time.Millisecond)))
		r.Begin()
		r.End(200, vals[i], 0, 0)
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	s := r.Snapshot()
	for _, q := range []float64{0.5, 0.9, 0.99} {
		want := vals[int(q*float64(len(vals)))-1]
		got := s.Quantile(q)
		if rel := math.Abs(float64(got-want)) / float64(want); rel > 0.19 {
			t.Errorf("p%v = %v, want %v ± 19%% (off by %.1f%%)", q*100, got, want, rel*100)
		} else {
			t.Logf("p%v = %v, true %v (off by %.2f%%)", q*100, got, want, rel*100)
		}
	}
}

func TestQuantileEdges(t *testing.T) {
	var s Snapshot
	s.Latency[bucketIndex(5*time.Millisecond)] = 10
	lo, hi := bucketLowerBound(bucketIndex(5*time.Millisecond)), BucketUpperBound(bucketIndex(5*time.Millisecond))
	if got := s.Quantile(0); got != lo {
		t.Errorf("p0 = %v, want the bucket's lower bound %v", got, lo)
	}
	if got := s.Quantile(1); got != hi {
		t.Errorf("p100 = %v, want the bucket's upper bound %v", got, hi)
	}
	if got := s.Quantile(2); got != hi {
		t.Errorf("q=2 = %v, want clamped to p100 %v", got, hi)
	}
	if got := s.Quantile(math.NaN()); got != lo {
		t.Errorf("q=NaN = %v, want p0 %v", got, lo)
	}
	// Everything beyond the last bound: report the last bound, not something made up.
	var o Snapshot
	o.Latency[NumBuckets-1] = 3
	if got, want := o.Quantile(0.99), BucketUpperBound(NumBuckets-2); got != want {
		t.Errorf("p99 in overflow = %v, want %v", got, want)
	}
}
