package signals

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

// slowBucketIndex is the obvious definition bucketIndex must agree with: the first bucket
// whose upper bound is at least d.
func slowBucketIndex(d time.Duration) int {
	return sort.Search(NumBuckets, func(i int) bool { return BucketUpperBound(i) >= d })
}

func TestBucketBounds(t *testing.T) {
	if got := BucketUpperBound(0); got != 10*time.Microsecond {
		t.Errorf("BucketUpperBound(0) = %v, want 10µs", got)
	}
	last := BucketUpperBound(NumBuckets - 2)
	if last < time.Minute {
		t.Errorf("last finite bound %v, want ≥ 60s", last)
	}
	if prev := BucketUpperBound(NumBuckets - 3); prev >= time.Minute {
		t.Errorf("second-to-last finite bound %v ≥ 60s: one bucket too many", prev)
	}
	if got := BucketUpperBound(NumBuckets - 1); got != math.MaxInt64 {
		t.Errorf("overflow bound = %v, want MaxInt64", got)
	}
	for i := 1; i < NumBuckets-1; i++ {
		ratio := float64(BucketUpperBound(i)) / float64(BucketUpperBound(i-1))
		if math.Abs(ratio-math.Pow(2, 0.25)) > 1e-3 {
			t.Errorf("bound %d / bound %d = %v, want 2^(1/4)", i, i-1, ratio)
		}
	}
}

func TestBucketIndexMatchesDefinition(t *testing.T) {
	check := func(d time.Duration) {
		t.Helper()
		if got, want := bucketIndex(d), slowBucketIndex(d); got != want {
			t.Fatalf("bucketIndex(%d) = %d, want %d", d, got, want)
		}
	}
	for _, d := range []time.Duration{math.MinInt64, -1, 0, 1, 9_999, 10_000, 10_001, math.MaxInt64} {
		check(d)
	}
	// Every bound and its neighbours, where an off-by-one would show.
	for i := range NumBuckets - 1 {
		b := BucketUpperBound(i)
		check(b - 1)
		check(b)
		check(b + 1)
	}
	// Every power of two and its neighbours, where the table rows change.
	for s := range 63 {
		p := time.Duration(1) << s
		check(p - 1)
		check(p)
		check(p + 1)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		// Log-uniform over the whole int64 range.
		check(time.Duration(rng.Int64() >> rng.IntN(63)))
	}
}

func BenchmarkBucketIndex(b *testing.B) {
	// A spread of realistic latencies, from sub-millisecond to seconds.
	var ds [1024]time.Duration
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range ds {
		ds[i] = time.Duration(math.Exp(rng.Float64() * math.Log(1e10))) // 1ns .. 10s
	}
	b.Run("table", func(b *testing.B) {
		var sink int
		for i := 0; b.Loop(); i++ {
			sink += bucketIndex(ds[i&(len(ds)-1)])
		}
		_ = sink
	})
	// The binary search over the bounds, for comparison.
	b.Run("search", func(b *testing.B) {
		var sink int
		for i := 0; b.Loop(); i++ {
			sink += slowBucketIndex(ds[i&(len(ds)-1)])
		}
		_ = sink
	})
}
