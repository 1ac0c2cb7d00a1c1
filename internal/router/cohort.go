package router

import (
	"math/bits"
	"sync/atomic"
)

// Cohort buckets for new clients are not drawn at random: with 16 clients at 10% a random
// draw leaves green without a single client in about one run in five (0.9^16). Instead each
// app numbers its new clients with one counter, and client n is put on green's side of the
// weight exactly when floor((n+1)·w + c) > floor(n·w + c) (a Bresenham / Beatty split), so
// any run of N consecutive new clients puts floor or ceil of N·w on green: 16 clients at 10%
// give 1 or 2, never 0. Within its side a client's bucket comes from a golden-ratio
// (Kronecker) sequence over that side's range, so buckets stay uniform over 0..9999 and a
// later, higher weight moves a fair share of blue's clients; raising the weight still moves
// only the clients whose bucket it crosses, since a client keeps its bucket in its cookie.
//
// The counter is per app and outlives table changes. Several router processes of one app
// share it when it lives in shared memory (see cohortFile); a router elsewhere keeps its
// own and starts from another offset.

// golden is 2^64/φ, the step of the Kronecker sequence frac(x0 + k/φ) in 64-bit fixed point.
const golden = 0x9E3779B97F4A7C15

// cohortSeq hands out cohort buckets to an app's new clients.
type cohortSeq struct {
	n      *atomic.Uint64 // the app's new-client counter, possibly in shared memory
	offset uint64         // x0 of the Kronecker sequence, and the Bresenham phase
}

// bucketFor returns the bucket of new client n at weight w (0 < w < WeightScale).
func bucketFor(n, offset uint64, w int) int {
	W := uint64(w)
	c := uint64(WeightScale/2) + (offset>>48)%WeightScale // phase: round by default
	m := n % WeightScale
	before := (m*W + c) / WeightScale
	after := ((m+1)*W + c) / WeightScale
	greens := (n/WeightScale)*W + before // green clients before n: its ordinal on the green side
	if after > before {
		hi, _ := bits.Mul64(offset+greens*golden, W)
		return int(hi)
	}
	k := n - greens // its ordinal on the blue side
	hi, _ := bits.Mul64(offset+k*golden+golden/2, uint64(WeightScale-w))
	return w + int(hi)
}

// next returns a bucket for a new client at weight w.
func (s *cohortSeq) next(w int) int {
	return bucketFor(s.n.Add(1)-1, s.offset, w)
}

// seen records the buckets of clients that came back with their cohort cookie since the
// app's weight was last set: bit b of the 10,000 stands for bucket b. The engine reads it to
// tell sticky clients per version. Marking loads first, so a bucket already seen costs a
// read of a shared cache line and no write.
type seen [(WeightScale + 63) / 64]atomic.Uint64

func (s *seen) mark(b int) {
	w, bit := &s[b>>6], uint64(1)<<(b&63)
	if w.Load()&bit == 0 {
		w.Or(bit)
	}
}

// buckets lists the marked buckets in order.
func (s *seen) buckets() []int {
	var out []int
	for i := range s {
		v := s[i].Load()
		for v != 0 {
			j := bits.TrailingZeros64(v)
			out = append(out, i*64+j)
			v &^= 1 << j
		}
	}
	return out
}
