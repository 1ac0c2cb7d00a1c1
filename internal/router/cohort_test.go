package router

import (
	"math"
	"sync/atomic"
	"testing"

	"pgregory.net/rapid"
)

// assign hands n new clients buckets at weight w from a counter that starts at start.
func assign(start uint64, offset uint64, n, w int) []int {
	c := new(atomic.Uint64)
	c.Store(start)
	s := cohortSeq{n: c, offset: offset}
	out := make([]int, n)
	for i := range out {
		out[i] = s.next(w)
	}
	return out
}

func countBelow(bs []int, w int) int {
	g := 0
	for _, b := range bs {
		if b < w {
			g++
		}
	}
	return g
}

// TestPropertyCohortsFairAtAnyClientCount: for any 1..1000 new clients, any weight 1..99%
// and any counter position (the counter outlives deployments), green's cohort holds floor or
// ceil of N·w clients; every bucket is in range.
func TestPropertyCohortsFairAtAnyClientCount(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 1000).Draw(t, "clients")
		w := rapid.IntRange(1, 99).Draw(t, "percent") * 100
		start := rapid.Uint64Range(0, 1<<40).Draw(t, "start")
		offset := rapid.Uint64().Draw(t, "offset")
		bs := assign(start, offset, n, w)
		for _, b := range bs {
			if b < 0 || b >= WeightScale {
				t.Fatalf("bucket %d out of 0..9999", b)
			}
		}
		want := float64(n) * float64(w) / WeightScale
		if g := countBelow(bs, w); float64(g) < math.Floor(want) || float64(g) > math.Ceil(want) {
			t.Fatalf("%d clients at %d%%: %d in green's cohort, want %v..%v", n, w/100, g, math.Floor(want), math.Ceil(want))
		}
	})
}

// TestSixteenClientsAtTenPercentNeverMissGreen is the case of issue 12 at every counter
// position of a whole period.
func TestSixteenClientsAtTenPercentNeverMissGreen(t *testing.T) {
	for start := uint64(0); start < WeightScale; start++ {
		if g := countBelow(assign(start, 0, 16, 1000), 1000); g < 1 || g > 2 {
			t.Fatalf("counter at %d: %d of 16 clients in green's cohort at 10%%", start, g)
		}
	}
}

// TestPropertyRaisingTheWeightMovesOnlyCrossedClients: clients keep their buckets, so a
// higher weight keeps every green client green and moves blue clients whose bucket it
// crosses; the new green share stays close to the new weight.
func TestPropertyRaisingTheWeightMovesOnlyCrossedClients(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 1000).Draw(t, "clients")
		w1 := rapid.IntRange(1, 98).Draw(t, "from") * 100
		w2 := rapid.IntRange(w1/100+1, 99).Draw(t, "to") * 100
		bs := assign(rapid.Uint64Range(0, 1<<40).Draw(t, "start"), 0, n, w1)
		moved := 0
		for _, b := range bs {
			if b < w1 && !(b < w2) {
				t.Fatalf("bucket %d was green at %d and is blue at %d", b, w1, w2)
			}
			if b >= w1 && b < w2 {
				moved++
			}
		}
		g1, g2 := countBelow(bs, w1), countBelow(bs, w2)
		if g2 != g1+moved {
			t.Fatalf("green went from %d to %d but %d crossed", g1, g2, moved)
		}
		// Blue's buckets are a low-discrepancy sequence over blue's range: the crossed share
		// is fair within a few clients.
		want := float64(n) * float64(w2) / WeightScale
		if math.Abs(float64(g2)-want) > 4 {
			t.Fatalf("%d clients raised from %d%% to %d%%: %d green, want about %.1f", n, w1/100, w2/100, g2, want)
		}
	})
}

// TestCohortBucketsUniform: over many clients every 1% slice of the buckets holds its share
// at any weight, so later weights split fairly too.
func TestCohortBucketsUniform(t *testing.T) {
	const n = 100000
	for _, w := range []int{100, 1000, 5000, 9000} {
		var hist [100]int
		for _, b := range assign(12345, 0, n, w) {
			hist[b/100]++
		}
		for i, h := range hist {
			if math.Abs(float64(h)-n/100) > 10 {
				t.Fatalf("weight %d: slice %d%% holds %d of %d clients, want %d ± 10", w, i, h, n, n/100)
			}
		}
	}
}
