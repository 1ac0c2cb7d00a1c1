package analysis

import (
	"math"
	"math/rand"
	"reflect"
	"testing"
	"testing/quick"
	"time"

	"github.com/cutover/cutover/internal/signals"
)

// lowTraffic is a random router-signal check with random green and blue traffic where green
// served fewer requests than MinRequests.
type lowTraffic struct {
	Check Check
	In    Input
}

// randomSnapshot returns traffic of at most maxTotal requests spread over random status
// classes and over a few neighbouring latency buckets, with a random window (sometimes none).
func randomSnapshot(r *rand.Rand, maxTotal uint64) signals.Snapshot {
	var s signals.Snapshot
	total := uint64(r.Int63n(int64(maxTotal) + 1))
	split := func(counts []uint64) {
		left := total
		for i := range counts[:len(counts)-1] {
			n := uint64(r.Int63n(int64(left) + 1))
			counts[i] += n
			left -= n
		}
		counts[len(counts)-1] += left
	}
	split(s.Requests[:])
	first := r.Intn(signals.NumBuckets - 4)
	split(s.Latency[first : first+1+r.Intn(4)])
	if r.Intn(4) > 0 {
		s.Span = time.Duration(r.Int63n(int64(10 * time.Minute)))
	}
	return s
}

func randomCheck(r *rand.Rand) Check {
	vsBlue := []string{"", VsBlueRatio, VsBlueMannWhitney}
	c := Check{Name: "random"}
	switch r.Intn(3) {
	case 0:
		e := &ErrorRate{Max: r.Float64() * 100}
		if r.Intn(2) == 0 {
			e.VsBlueMargin = ptr(r.Float64() * 10)
		}
		c.ErrorRate = e
	case 1:
		c.Latency = &Latency{
			Quantile: r.Float64(),
			Max:      time.Duration(r.Int63n(int64(2 * time.Minute))),
			VsBlue:   vsBlue[r.Intn(len(vsBlue))],
			Ratio:    r.Float64() * 3,
			Alpha:    r.Float64() * 0.2,
		}
	default:
		c.RequestRate = &RequestRate{Min: r.Float64() * 50 * float64(r.Intn(2))}
	}
	return c
}

// Generate implements quick.Generator.
func (lowTraffic) Generate(r *rand.Rand, size int) reflect.Value {
	green := randomSnapshot(r, uint64(size)+5)
	lt := lowTraffic{
		Check: randomCheck(r),
		In: Input{
			Green:       green,
			Blue:        randomSnapshot(r, 1000),
			MinRequests: green.Total() + 1 + uint64(r.Intn(100)),
		},
	}
	return reflect.ValueOf(lt)
}

func TestPropertyNoPassBelowMinRequests(t *testing.T) {
	prop := func(lt lowTraffic) bool {
		got := Evaluate(lt.Check, lt.In)
		if got.Verdict == Pass {
			t.Logf("passed on %d < %d requests: %+v", lt.In.Green.Total(), lt.In.MinRequests, got)
			return false
		}
		return !math.IsNaN(got.Value) && !math.IsInf(got.Value, 0)
	}
	if err := quick.Check(prop, &quick.Config{MaxCount: 3000}); err != nil {
		t.Error(err)
	}
}

// anyTraffic is like lowTraffic with no bound on green's requests.
type anyTraffic lowTraffic

// Generate implements quick.Generator.
func (anyTraffic) Generate(r *rand.Rand, size int) reflect.Value {
	return reflect.ValueOf(anyTraffic{
		Check: randomCheck(r),
		In: Input{
			Green:       randomSnapshot(r, 2000),
			Blue:        randomSnapshot(r, 2000),
			MinRequests: uint64(r.Intn(200)),
		},
	})
}

func TestPropertyResultsAreWellFormed(t *testing.T) {
	prop := func(at anyTraffic) bool {
		got := Evaluate(at.Check, at.In)
		switch {
		case got.Verdict == Pass && at.In.Green.Total() < max(at.In.MinRequests, 1):
		case math.IsNaN(got.Value) || math.IsInf(got.Value, 0):
		case got.Evidence == "" || got.Check != at.Check.Name:
		case got.Verdict < Inconclusive || got.Verdict > Fail:
		default:
			return got == Evaluate(at.Check, at.In) // pure: the same answer again
		}
		t.Logf("bad result %+v for %d green requests", got, at.In.Green.Total())
		return false
	}
	if err := quick.Check(prop, &quick.Config{MaxCount: 2000}); err != nil {
		t.Error(err)
	}
}

func TestPropertyAggregate(t *testing.T) {
	prop := func(raw []uint8, failAt uint8) bool {
		results := make([]Result, len(raw))
		for i, v := range raw {
			results[i].Verdict = Verdict(v % 4) // includes one unknown verdict
		}
		got := Aggregate(results)
		hasFail, allPass := false, len(results) > 0
		for _, r := range results {
			hasFail = hasFail || r.Verdict == Fail
			allPass = allPass && r.Verdict == Pass
		}
		withFail := append(results, Result{Verdict: Fail})
		i := int(failAt) % len(withFail)
		withFail[i], withFail[len(withFail)-1] = withFail[len(withFail)-1], withFail[i]
		return Aggregate(withFail) == Fail &&
			(got == Fail) == hasFail &&
			(got == Pass) == allPass
	}
	if err := quick.Check(prop, &quick.Config{MaxCount: 2000}); err != nil {
		t.Error(err)
	}
}
