package analysis

import (
	"math"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/signals"
)

// spread returns a snapshot of n 2xx requests over a minute whose latencies are the bucket
// upper bounds of the given buckets, count[i] in bucket first+i.
func spread(first int, counts ...uint64) signals.Snapshot {
	var s signals.Snapshot
	for i, c := range counts {
		s.Latency[first+i] = c
		s.Requests[2] += c
	}
	s.Span = time.Minute
	return s
}

func TestLatency(t *testing.T) {
	ms := time.Millisecond
	b40 := bucketOf(40 * ms)
	ub := signals.BucketUpperBound
	tests := []struct {
		desc        string
		check       Latency
		green, blue signals.Snapshot
		want        Verdict
		evidence    []string
	}{
		{desc: "above the absolute limit fails",
			check: Latency{Quantile: 0.99, Max: 500 * ms}, green: traffic(100, 0, 840*ms),
			want: Fail, evidence: []string{"green p99 ", " > 500ms limit"}},
		{desc: "exactly at the absolute limit passes",
			// Every request in one bucket: p100 is that bucket's upper bound.
			check: Latency{Quantile: 1, Max: ub(b40)}, green: traffic(100, 0, 40*ms),
			want: Pass, evidence: []string{"green p100 ", " <= "}},
		{desc: "one nanosecond under the quantile fails",
			check: Latency{Quantile: 1, Max: ub(b40) - 1}, green: traffic(100, 0, 40*ms), want: Fail},
		{desc: "quantile 0 means p99",
			check: Latency{Max: time.Second}, green: traffic(100, 0, 40*ms), want: Pass, evidence: []string{"green p99 "}},
		{desc: "too few green requests is inconclusive",
			check: Latency{Max: time.Second}, green: traffic(12, 0, 40*ms),
			want: Inconclusive, evidence: []string{"inconclusive: green served 12 requests, fewer than the 50 needed"}},
		{desc: "ratio: three times slower than blue fails",
			check: Latency{Quantile: 0.5, VsBlue: VsBlueRatio}, green: traffic(100, 0, 120*ms), blue: traffic(100, 0, 40*ms),
			want: Fail, evidence: []string{" > 1.5 × blue p50 "}},
		{desc: "ratio: as fast as blue passes",
			check: Latency{VsBlue: VsBlueRatio}, green: traffic(100, 0, 40*ms), blue: traffic(100, 0, 40*ms),
			want: Pass, evidence: []string{" <= 1.5 × blue p99 "}},
		{desc: "ratio: exactly blue times the ratio passes",
			check: Latency{Quantile: 1, VsBlue: VsBlueRatio, Ratio: float64(ub(b40+4)) / float64(ub(b40))},
			green: traffic(100, 0, ub(b40+4)), blue: traffic(100, 0, ub(b40)), want: Pass},
		{desc: "ratio: low blue traffic falls back to the absolute limit",
			check: Latency{VsBlue: VsBlueRatio, Max: time.Second}, green: traffic(100, 0, 120*ms), blue: traffic(10, 0, 40*ms),
			want: Pass, evidence: []string{"<= 1s limit", "not compared with blue: blue served 10 requests, fewer than the 50 needed"}},
		{desc: "ratio: low blue traffic without an absolute limit is inconclusive",
			check: Latency{VsBlue: VsBlueRatio}, green: traffic(100, 0, 120*ms), blue: traffic(10, 0, 40*ms),
			want: Inconclusive, evidence: []string{"blue served 10 requests", "no absolute limit"}},
		{desc: "both limits fail: both are named",
			check: Latency{Quantile: 0.5, Max: 100 * ms, VsBlue: VsBlueRatio}, green: traffic(100, 0, 400*ms), blue: traffic(100, 0, 40*ms),
			want: Fail, evidence: []string{"limit; green p50", "× blue p50"}},
		{desc: "mann-whitney: three times slower fails",
			check: Latency{VsBlue: VsBlueMannWhitney}, green: spread(b40+6, 30, 40, 30), blue: spread(b40-1, 30, 40, 30),
			want: Fail, evidence: []string{"green latency is higher than blue's (Mann-Whitney U, p", " < 0.05; green p50 ", "blue p50 "}},
		{desc: "mann-whitney: the same distribution passes",
			check: Latency{VsBlue: VsBlueMannWhitney}, green: spread(b40-1, 30, 40, 30), blue: spread(b40-1, 30, 40, 30),
			want: Pass, evidence: []string{"not significantly higher", ">= 0.05"}},
		{desc: "mann-whitney: faster than blue passes",
			check: Latency{VsBlue: VsBlueMannWhitney}, green: spread(b40-1, 30, 40, 30), blue: spread(b40+6, 30, 40, 30),
			want: Pass},
		{desc: "mann-whitney: significant but inside one bucket passes and says why",
			check: Latency{VsBlue: VsBlueMannWhitney}, green: spread(b40, 550_000, 450_000), blue: spread(b40, 600_000, 400_000),
			want: Pass, evidence: []string{"less than one histogram bucket", "< 0.05"}},
		{desc: "mann-whitney: the absolute limit still applies",
			check: Latency{VsBlue: VsBlueMannWhitney, Max: 10 * ms}, green: spread(b40-1, 30, 40, 30), blue: spread(b40-1, 30, 40, 30),
			want: Fail, evidence: []string{" > 10ms limit"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			c := Check{Name: "latency", Latency: &tt.check}
			got := Evaluate(c, Input{Green: tt.green, Blue: tt.blue, MinRequests: 50})
			wantResult(t, got, tt.want, tt.evidence...)
			if tt.want != Inconclusive || tt.blue.Total() > 0 {
				q := orDefault(tt.check.Quantile, defaultQuantile)
				if want := tt.green.Quantile(q).Seconds(); got.Value != want {
					t.Errorf("Value = %v, want green's quantile %v s", got.Value, want)
				}
			}
		})
	}
}

func TestMannWhitneyAgainstBruteForce(t *testing.T) {
	var green, blue histogram
	green[10], green[12], green[14] = 2, 3, 1
	blue[8], blue[10], blue[12] = 2, 1, 1

	// U by brute force over the expanded samples, a bucket index standing for each value.
	var gs, bs []int
	for i := range green {
		for range green[i] {
			gs = append(gs, i)
		}
		for range blue[i] {
			bs = append(bs, i)
		}
	}
	var wantU float64
	for _, x := range gs {
		for _, y := range bs {
			switch {
			case x > y:
				wantU++
			case x == y:
				wantU += 0.5
			}
		}
	}
	// By hand: n1=6, n2=4, N=10; tie groups of 2, 3, 4 and 1, so Σ(t³-t) = 6+24+60 = 90;
	// Var = 6·4/12 · (11 - 90/90) = 20; Z = (19.5 - 12 - 0.5)/√20 = 1.565248;
	// p = 1 - Φ(1.565248) = 0.0587624.
	got := mannWhitney(&green, &blue)
	if wantU != 19.5 || got.U != wantU {
		t.Errorf("U = %v, brute force %v, by hand 19.5", got.U, wantU)
	}
	if math.Abs(got.Z-1.5652475842498528) > 1e-12 {
		t.Errorf("Z = %v, want 1.5652475842498528", got.Z)
	}
	if math.Abs(got.P-0.0587624340483196) > 1e-12 {
		t.Errorf("p = %v, want 0.0587624340483196", got.P)
	}
	// Swapping the samples turns U into n1·n2 - U and the one-sided p towards 1.
	if sw := mannWhitney(&blue, &green); sw.U != 24-19.5 || sw.P < 0.9 {
		t.Errorf("swapped: U = %v, p = %v; want U 4.5 and p > 0.9", sw.U, sw.P)
	}
}

func TestMannWhitneyDistributions(t *testing.T) {
	// A log-normal-ish latency sample around 40ms, drawn deterministically.
	sample := func(scale float64, n int) *histogram {
		var h histogram
		for i := range n {
			u := (float64(i) + 0.5) / float64(n) // evenly spaced quantiles
			d := 40 * float64(time.Millisecond) * scale * math.Exp(0.6*math.Sqrt2*math.Erfinv(2*u-1))
			h[bucketOf(time.Duration(d))]++
		}
		return &h
	}
	same := mannWhitney(sample(1, 2000), sample(1, 3000))
	if same.P < 0.4 {
		t.Errorf("identical distributions: p = %v, want large", same.P)
	}
	shifted := mannWhitney(sample(3, 1000), sample(1, 1000))
	if shifted.P > 1e-10 || shifted.Z < 10 {
		t.Errorf("green 3x slower: p = %v, z = %v; want tiny p", shifted.P, shifted.Z)
	}
	faster := mannWhitney(sample(1.0/3, 1000), sample(1, 1000))
	if faster.P < 0.99 {
		t.Errorf("green 3x faster: p = %v, want near 1", faster.P)
	}

	// Counts far beyond anything a window holds stay finite and O(buckets).
	var big1, big2 histogram
	for i := range big1 {
		big1[i] = 1e12
		big2[i] = 1e12
	}
	big1[60] += 1e12
	if r := mannWhitney(&big1, &big2); math.IsNaN(r.P) || r.P < 0 || r.P > 1 {
		t.Errorf("huge counts: p = %v", r.P)
	}

	// Everything in one bucket: no variance, no evidence.
	var one1, one2 histogram
	one1[20], one2[20] = 500, 700
	if r := mannWhitney(&one1, &one2); r.P != 1 || r.U != 500*700/2 {
		t.Errorf("all tied: U = %v, p = %v; want U 175000 and p 1", r.U, r.P)
	}
	if r := mannWhitney(&one1, &histogram{}); r.P != 1 {
		t.Errorf("empty blue: p = %v, want 1", r.P)
	}
}

func TestMedianBucket(t *testing.T) {
	tests := []struct {
		desc string
		h    histogram
		want int
	}{
		{desc: "empty", want: -1},
		{desc: "one bucket", h: histogram{5: 3}, want: 5},
		{desc: "even split lands on the lower bucket", h: histogram{5: 2, 9: 2}, want: 5},
		{desc: "majority above", h: histogram{5: 2, 9: 3}, want: 9},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := medianBucket(&tt.h); got != tt.want {
				t.Errorf("medianBucket = %d, want %d", got, tt.want)
			}
		})
	}
}
