package analysis

import (
	"math"

	"github.com/cutover/cutover/internal/signals"
)

// histogram is a latency histogram as signals records it: a count per bucket, buckets in
// increasing order of latency.
type histogram = [signals.NumBuckets]uint64

// mwResult is the outcome of a one-sided Mann-Whitney U test of "green's latencies are
// stochastically greater than blue's".
type mwResult struct {
	// U is green's U statistic: the number of (green, blue) pairs in which the green
	// latency is the larger, counting tied pairs (same bucket) as one half.
	U float64
	// Z is the standardised statistic, with tie and continuity correction; 0 when the test
	// has no variance to work with.
	Z float64
	// P is the one-sided p-value, the chance of a U at least this large if green and blue
	// had the same distribution. 1 when either side is empty or every value ties.
	P float64
}

// mannWhitney runs the test on two histograms in one pass over the buckets, whatever the
// counts: every value in a bucket is the same value (the bucket's, say its upper bound) for
// the test, so a bucket is a group of ties and only the order of buckets matters.
//
// With n1 green and n2 blue values, N = n1 + n2, and t_i the values in bucket i:
//
//	U   = Σ_i g_i · (blue values in buckets below i + b_i / 2)
//	E U = n1·n2 / 2
//	Var = n1·n2/12 · ((N + 1) − Σ_i (t_i³ − t_i) / (N·(N − 1)))
//	Z   = (U − E U − ½) / √Var        (continuity correction towards "not greater")
//	p   = 1 − Φ(Z)
//
// Counts are summed as float64: exact up to 2^53 and a relative error of about 1e-16
// beyond, far below what the normal approximation itself costs.
func mannWhitney(green, blue *histogram) mwResult {
	var n1, n2 float64
	for i := range green {
		n1 += float64(green[i])
		n2 += float64(blue[i])
	}
	if n1 == 0 || n2 == 0 {
		return mwResult{P: 1}
	}
	var u, ties, below float64
	for i := range green {
		g, b := float64(green[i]), float64(blue[i])
		u += g * (below + b/2)
		below += b
		t := g + b
		ties += t*t*t - t
	}
	n := n1 + n2
	full := n1 * n2 / 12 * (n + 1) // the variance without ties
	variance := full - n1*n2/12*ties/(n*(n-1))
	// When (nearly) everything ties the variance is zero up to rounding: there is no
	// evidence of any difference.
	if variance <= full*1e-12 {
		return mwResult{U: u, P: 1}
	}
	z := (u - n1*n2/2 - 0.5) / math.Sqrt(variance)
	return mwResult{U: u, Z: z, P: 0.5 * math.Erfc(z/math.Sqrt2)}
}

// medianBucket returns the index of the bucket holding the median of h, chosen as
// signals.Snapshot.Quantile(0.5) chooses it, or -1 for an empty histogram.
func medianBucket(h *histogram) int {
	count := histCount(h)
	if count == 0 {
		return -1
	}
	rank := 0.5 * float64(count)
	var cum uint64
	for i, c := range h {
		if c == 0 {
			continue
		}
		cum += c
		if float64(cum) >= rank {
			return i
		}
	}
	return len(h) - 1
}

// histCount returns the number of values in h.
func histCount(h *histogram) uint64 {
	var n uint64
	for _, c := range h {
		n += c
	}
	return n
}
