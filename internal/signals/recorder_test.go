package signals

import (
	"sync"
	"testing"
	"time"
)

func TestRecorderConcurrentEnd(t *testing.T) {
	const goroutines, perG = 8, 10_000
	statuses := []int{200, 201, 302, 404, 503, 0, 101, 700}
	latencies := []time.Duration{5 * time.Microsecond, 3 * time.Millisecond, 250 * time.Millisecond, 2 * time.Minute}

	r := NewRecorder()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				r.Begin()
				r.End(statuses[(g+i)%len(statuses)], latencies[i%len(latencies)], 3, 7)
			}
		})
	}
	// Read concurrently too, as the sampler and a scrape would.
	stop := make(chan struct{})
	readers := sync.WaitGroup{}
	readers.Go(func() {
		for t0 := time.Unix(0, 0); ; t0 = t0.Add(time.Second) {
			select {
			case <-stop:
				return
			default:
			}
			r.Sample(t0)
			_ = r.Window(t0, 5*time.Second)
		}
	})
	wg.Wait()
	close(stop)
	readers.Wait()

	s := r.Snapshot()
	const total = goroutines * perG
	// Each status appears total/len(statuses) times; 0 and 700 both land in "other".
	per := uint64(total / len(statuses))
	want := [6]uint64{2 * per, per, 2 * per, per, per, per}
	if s.Requests != want {
		t.Errorf("Requests = %v, want %v", s.Requests, want)
	}
	perLat := uint64(total / len(latencies))
	var wantSum uint64
	for _, d := range latencies {
		if got := s.Latency[bucketIndex(d)]; got != perLat {
			t.Errorf("bucket for %v = %d, want %d", d, got, perLat)
		}
		wantSum += perLat * uint64(d)
	}
	if got := s.Latency[NumBuckets-1]; got != perLat {
		t.Errorf("overflow bucket = %d, want %d (the 2m requests)", got, perLat)
	}
	if s.LatencySumNanos != wantSum {
		t.Errorf("LatencySumNanos = %d, want %d", s.LatencySumNanos, wantSum)
	}
	if s.BytesIn != 3*total || s.BytesOut != 7*total {
		t.Errorf("bytes in/out = %d/%d, want %d/%d", s.BytesIn, s.BytesOut, 3*total, 7*total)
	}
	if s.InFlight != 0 {
		t.Errorf("InFlight = %d, want 0", s.InFlight)
	}
}

func TestRecorderInFlightAndOddInputs(t *testing.T) {
	r := NewRecorder()
	r.Begin()
	r.Begin()
	r.End(200, -time.Second, -1, -1) // negative latency and unknown sizes count as zero
	s := r.Snapshot()
	if s.InFlight != 1 || s.Latency[0] != 1 || s.LatencySumNanos != 0 || s.BytesIn != 0 || s.BytesOut != 0 {
		t.Errorf("got %+v, want InFlight 1, one request in bucket 0 and zero sums", s)
	}
}

func TestEndDoesNotAllocate(t *testing.T) {
	r := NewRecorder()
	if n := testing.AllocsPerRun(1000, func() {
		r.Begin()
		r.End(200, 12*time.Millisecond, 100, 2000)
	}); n != 0 {
		t.Errorf("Begin+End allocates %v times per call, want 0", n)
	}
}

// record ends n requests with the given status.
func record(r *Recorder, status, n int) {
	for range n {
		r.Begin()
		r.End(status, time.Millisecond, 0, 0)
	}
}

func TestWindow(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	sec := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	r := newRecorder(10)

	// Before any sample a window holds everything since start, with no span.
	record(r, 200, 1)
	if w := r.Window(t0, 30*time.Second); w.Total() != 1 || w.Span != 0 {
		t.Errorf("no samples: Total %d Span %v, want 1 and 0", w.Total(), w.Span)
	}

	// Second i records i+1 requests (every third one a 500) between Sample(i) and Sample(i+1).
	for i := range 5 {
		r.Sample(sec(i))
		record(r, 200, i+1)
		if i%3 == 0 {
			record(r, 500, 1)
		}
	}
	r.Begin() // one request still in flight
	// Requests after sample i: 1+1 (i=0), 2, 3, 4+1 (i=3), 5, then nothing more until now.
	after := func(i int) uint64 {
		n := uint64(0)
		for j := i; j < 5; j++ {
			n += uint64(j + 1)
			if j%3 == 0 {
				n++
			}
		}
		return n
	}
	now := sec(4).Add(500 * time.Millisecond)

	tests := []struct {
		desc     string
		d        time.Duration
		base     int // index of the sample the window starts at
		wantSpan time.Duration
	}{
		{"exactly on a sample", 1500 * time.Millisecond, 3, 1500 * time.Millisecond},
		{"between samples takes the older", 2 * time.Second, 2, 2500 * time.Millisecond},
		{"shorter than the newest sample's age", 100 * time.Millisecond, 4, 500 * time.Millisecond},
		{"reaches back to the oldest", 4500 * time.Millisecond, 0, 4500 * time.Millisecond},
		{"beyond the ring falls back to the oldest", time.Minute, 0, 4500 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			w := r.Window(now, tc.d)
			if got, want := w.Total(), after(tc.base); got != want {
				t.Errorf("Total = %d, want %d (requests after sample %d)", got, want, tc.base)
			}
			if w.Span != tc.wantSpan {
				t.Errorf("Span = %v, want %v", w.Span, tc.wantSpan)
			}
			if w.InFlight != 1 {
				t.Errorf("InFlight = %d, want the current 1", w.InFlight)
			}
		})
	}

	w := r.Window(now, 2*time.Second) // after samples 2..4: 3 + 5 + 5 = 13, one of them a 500
	if w.Errors() != 1 || w.Total() != 13 {
		t.Errorf("window errors %d of %d, want 1 of 13", w.Errors(), w.Total())
	}
	if got, want := w.Rate(), 13/2.5; got != want {
		t.Errorf("Rate = %v, want %v", got, want)
	}

	// A sample older than the newest is ignored, so the ring stays in time order.
	r.Sample(sec(1))
	if w := r.Window(now, 100*time.Millisecond); w.Total() != after(4) {
		t.Errorf("after an out-of-order sample: Total %d, want %d", w.Total(), after(4))
	}
	// A now before every sample gives a zero span, not a negative one.
	if w := r.Window(t0.Add(-time.Hour), time.Second); w.Span != 0 {
		t.Errorf("now before all samples: Span %v, want 0", w.Span)
	}
}

func TestWindowRingWraps(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	r := newRecorder(4)
	// 10 samples into a ring of 4; second i records i requests after sample i.
	for i := range 10 {
		r.Sample(t0.Add(time.Duration(i) * time.Second))
		record(r, 200, i)
	}
	now := t0.Add(9 * time.Second)
	if got := len(r.ring); got != 4 {
		t.Fatalf("ring holds %d samples, want 4", got)
	}
	// The ring now holds samples 6..9; requests after sample k are k+...+9.
	after := func(k int) uint64 { return uint64((k + 9) * (10 - k) / 2) }
	for _, tc := range []struct {
		d    time.Duration
		base int
	}{
		{0, 9}, {time.Second, 8}, {3 * time.Second, 6}, {4 * time.Second, 6}, {time.Hour, 6},
	} {
		w := r.Window(now, tc.d)
		if got, want := w.Total(), after(tc.base); got != want {
			t.Errorf("Window(%v): Total %d, want %d (after sample %d)", tc.d, got, want, tc.base)
		}
		if want := now.Sub(t0.Add(time.Duration(tc.base) * time.Second)); w.Span != want {
			t.Errorf("Window(%v): Span %v, want %v", tc.d, w.Span, want)
		}
	}
}

func BenchmarkEnd(b *testing.B) {
	r := NewRecorder()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var i int
		for pb.Next() {
			i++
			r.Begin()
			r.End(200+(i&1)*300, time.Duration(i&1023)*time.Millisecond, 512, 4096)
		}
	})
}
