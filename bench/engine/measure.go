package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cutover/cutover/internal/deploy"
)

func run(runs int, withDocker, onlyDrivers bool) error {
	fmt.Printf("# cutover engine benchmark (%d runs each, %s)\n\n", runs, time.Now().UTC().Format(time.RFC3339))
	if withDocker {
		if err := drivers(runs); err != nil {
			return fmt.Errorf("drivers: %w", err)
		}
	}
	if onlyDrivers {
		return nil
	}
	if err := overhead(runs); err != nil {
		return fmt.Errorf("overhead: %w", err)
	}
	if err := rollbacks(runs); err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	return blastRadius()
}

// overhead: deploy command to the first production request answered by green, minus the
// app's own start and health time. AllAtOnce, no pauses, health probes every 50ms.
func overhead(runs int) error {
	r, err := newRig()
	if err != nil {
		return err
	}
	defer r.close()
	if err := r.apply("strategy: {preset: AllAtOnce}", ""); err != nil {
		return err
	}
	if _, err := r.deployWait("v1", nil); err != nil {
		return err
	}
	var total, app, over []time.Duration
	for i := 0; i < runs; i++ {
		a, err := appStartTime()
		if err != nil {
			return err
		}
		v := fmt.Sprintf("v%d", i+2)
		start := time.Now()
		if _, err := r.eng.Deploy(context.Background(), "bench", v, nil); err != nil {
			return err
		}
		for versionOf(r.url) != v {
			if time.Since(start) > 30*time.Second {
				return fmt.Errorf("%s never served", v)
			}
			time.Sleep(time.Millisecond)
		}
		d := time.Since(start)
		total, app, over = append(total, d), append(app, a), append(over, d-a)
		if err := r.eng.Wait(context.Background(), "bench"); err != nil {
			return err
		}
	}
	fmt.Printf("## Engine overhead (deploy → first request on green, minus app start+health)\n\n")
	fmt.Printf("| measure | median | max |\n|---|---:|---:|\n")
	fmt.Printf("| deploy → first green response | %s | %s |\n", ms(median(total)), ms(maxOf(total)))
	fmt.Printf("| app's own start → healthy (exec to first 200 on /healthz) | %s | %s |\n", ms(median(app)), ms(maxOf(app)))
	fmt.Printf("| **engine overhead** (bar ≤ 500 ms) | **%s** | %s |\n\n", ms(median(over)), ms(maxOf(over)))
	return nil
}

// rollbacks: abort mid-canary, and rollback after success, to 100% of new requests on blue.
func rollbacks(runs int) error {
	r, err := newRig()
	if err != nil {
		return err
	}
	defer r.close()
	if err := r.apply("strategy: {canary: {steps: [{weight: 50, approval: true}]}}", ""); err != nil {
		return err
	}
	if _, err := r.deployWait("v1", nil); err != nil {
		return err
	}
	var abortTable, abortReq []time.Duration
	for i := 0; i < runs; i++ {
		v := fmt.Sprintf("a%d", i)
		s, err := r.eng.Deploy(context.Background(), "bench", v, nil)
		if err != nil {
			return err
		}
		for {
			st, _ := r.eng.Deployment(s.ID)
			if st.Phase == deploy.PhaseShifting && st.Weight == 5000 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		start := time.Now()
		if err := r.eng.Command("bench", deploy.CmdAbort); err != nil {
			return err
		}
		for sig, _ := r.router.Signals("bench", time.Second); sig.GreenWeight != 0 || len(sig.Green.ByID) != 0; sig, _ = r.router.Signals("bench", time.Second) {
			time.Sleep(100 * time.Microsecond)
		}
		abortTable = append(abortTable, time.Since(start))
		for versionOf(r.url) != "v1" {
			time.Sleep(100 * time.Microsecond)
		}
		abortReq = append(abortReq, time.Since(start))
		_ = r.eng.Wait(context.Background(), "bench")
	}
	if err := r.apply("strategy: {preset: AllAtOnce}", ""); err != nil {
		return err
	}
	var rbCall, rbReq []time.Duration
	prev := "v1"
	for i := 0; i < runs; i++ {
		v := fmt.Sprintf("r%d", i)
		if s, err := r.deployWait(v, nil); err != nil || s.Phase != deploy.PhaseSucceeded {
			return fmt.Errorf("deploy %s: %v %s", v, err, s.Reason)
		}
		start := time.Now()
		if _, err := r.eng.Rollback(context.Background(), "bench"); err != nil {
			return err
		}
		rbCall = append(rbCall, time.Since(start))
		for versionOf(r.url) != prev {
			time.Sleep(100 * time.Microsecond)
		}
		rbReq = append(rbReq, time.Since(start))
	}
	fmt.Printf("## Rollback to 100%% of new requests on blue (bar ≤ 50 ms)\n\n")
	fmt.Printf("| measure | median | max |\n|---|---:|---:|\n")
	fmt.Printf("| abort → router table has no green | %s | %s |\n", ms(median(abortTable)), ms(maxOf(abortTable)))
	fmt.Printf("| abort → a new request answered by blue | %s | %s |\n", ms(median(abortReq)), ms(maxOf(abortReq)))
	fmt.Printf("| rollback after success → call returned (recorded, table swapped) | %s | %s |\n", ms(median(rbCall)), ms(maxOf(rbCall)))
	fmt.Printf("| rollback after success → a new request answered by blue | %s | %s |\n\n", ms(median(rbReq)), ms(maxOf(rbReq)))
	return nil
}

type sample struct {
	at      time.Time
	version string
	status  int
}

// blastRadius: green answers 10% of requests with 500, at 200 requests/s total, analysis every
// 1s over a 10s window with a minimum of 100 green requests.
func blastRadius() error {
	r, err := newRig()
	if err != nil {
		return err
	}
	defer r.close()
	analysis := "analysis: {interval: 1s, window: 10s, min_requests: 100, checks: [{name: errors, error_rate: {max: 1}}]}"
	if err := r.apply("strategy: {canary: {steps: [{weight: 50, pause: 10m}]}}", analysis); err != nil {
		return err
	}
	if _, err := r.deployWait("v1", nil); err != nil {
		return err
	}
	var mu sync.Mutex
	var log []sample
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ { // 4 × 50 req/s
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
				}
				resp, err := client.Get(r.url + "/")
				s := sample{at: time.Now()}
				if err == nil {
					s.version, s.status = resp.Header.Get("X-Version"), resp.StatusCode
					resp.Body.Close()
				}
				mu.Lock()
				log = append(log, s)
				mu.Unlock()
			}
		}()
	}
	st, err := r.deployWait("bad", map[string]string{"SAMPLE_ERROR_RATE": "0.1"})
	close(stop)
	wg.Wait()
	if err != nil {
		return err
	}
	var greenServed, greenBad, otherFailed int
	var minSampleAt time.Time
	for _, s := range log {
		switch {
		case s.version == "bad":
			greenServed++
			if s.status >= 500 {
				greenBad++
			}
			if greenServed == 100 {
				minSampleAt = s.at
			}
		case s.status != 200:
			otherFailed++
		}
	}
	delay := st.EndedAt.Sub(minSampleAt)
	fmt.Printf("## Bad green blast radius (10%% 5xx, 200 req/s, green at 50%%, analysis every 1s, min 100 requests)\n\n")
	fmt.Printf("| measure | value |\n|---|---:|\n")
	fmt.Printf("| outcome | %s |\n", st.Phase)
	fmt.Printf("| reason | %s |\n", st.Reason)
	fmt.Printf("| requests green served before rollback | %d |\n", greenServed)
	fmt.Printf("| of which answered badly (the blast radius) | %d |\n", greenBad)
	fmt.Printf("| failed requests not from green | %d |\n", otherFailed)
	fmt.Printf("| deploy start → rollback | %s |\n", ms(st.EndedAt.Sub(st.CreatedAt)))
	fmt.Printf("| 100th green request → rollback (bar: ≤ 2 intervals = 2 s) | %s (%.2f intervals) |\n\n", ms(delay), delay.Seconds())
	return nil
}
