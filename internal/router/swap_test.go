package router

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSwapsUnderLoadFailNothing applies 1,000 tables (weight changes, instances joining and
// leaving, whole pool swaps) while clients send requests without pause; not one may fail.
func TestSwapsUnderLoadFailNothing(t *testing.T) {
	var ins []*testInstance
	for i := 0; i < 6; i++ {
		ins = append(ins, startInstance(t, fmt.Sprintf("i%d", i), nil))
	}
	tr := startRouter(t, Options{DrainTimeout: 5 * time.Second}, appTable(ins[:2], ins[2:4], 0))

	var sent, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newClient()
			deadline := time.Now().Add(60 * time.Second) // bound even if the swapper stalls
			for time.Now().Before(deadline) {
				select {
				case <-stop:
					return
				default:
				}
				sent.Add(1)
				resp, err := c.Get(tr.url + "/")
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				if body := readAll(resp); resp.StatusCode != 200 || body == "" {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("status %d body %q", resp.StatusCode, body))
				}
			}
		}()
	}
	eventually(t, 5*time.Second, "load to start", func() bool { return sent.Load() > 100 })
	for i := 0; i < 1000; i++ {
		// Rotate which instances serve as blue and green, and the weight, on every step.
		b, g := ins[i%3*2:i%3*2+2], ins[(i+1)%3*2:(i+1)%3*2+2]
		if i%7 == 0 {
			b = b[:1] // an instance leaves
		}
		tbl := appTable(b, g, (i*1237)%(WeightScale+1))
		if err := tr.Apply(tbl); err != nil {
			t.Fatalf("swap %d: %v", i, err)
		}
		// Let requests run against every table: wait for a few to finish before the next swap.
		mark, until := sent.Load()+4, time.Now().Add(5*time.Second)
		for sent.Load() < mark && time.Now().Before(until) {
			time.Sleep(100 * time.Microsecond)
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("1000 swaps: %d requests, %d failed", sent.Load(), failed.Load())
	if f := failed.Load(); f != 0 {
		t.Fatalf("%d of %d requests failed during swaps; first: %v", f, sent.Load(), firstErr.Load())
	}
}
