package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cutover/cutover/internal/api"
)

// watch follows a deployment through the API until it ends: it prints each new event, and a
// traffic line every second, then returns the deployment as it ended, with its events.
func (e *env) watch(ctx context.Context, id string) (api.Deployment, error) {
	seen := 0
	poll := time.NewTicker(pollEvery)
	defer poll.Stop()
	lastLine := time.Now()
	for {
		d, err := e.client.Deployment(ctx, id)
		if err != nil {
			return d, err
		}
		for ; seen < len(d.Events); seen++ {
			fmt.Fprintf(e.out, "   %s  %s\n", d.Events[seen].At.Format("15:04:05.000"), d.Events[seen].Message)
		}
		if d.Terminal {
			return d, nil
		}
		if time.Since(lastLine) >= time.Second {
			lastLine = time.Now()
			e.trafficLine(ctx, d)
		}
		select {
		case <-ctx.Done():
			return d, ctx.Err()
		case <-poll.C:
		}
	}
}

// trafficLine is the live view: phase, a weight bar, per version requests/s, error rate, p99,
// as the server's router saw them over the last two seconds.
func (e *env) trafficLine(ctx context.Context, d api.Deployment) {
	sig, err := e.client.Signals(ctx, "shop", 2*time.Second)
	if err != nil {
		return
	}
	const width = 20
	g := min(max(int(d.Weight*width/100), 0), width)
	bar := strings.Repeat("█", g) + strings.Repeat("░", width-g)
	fmt.Fprintf(e.out, "   [%s] green %5.1f%%  %-12s | blue %s %4.0f req/s %4.1f%% err p99 %4.0fms | green %s %4.0f req/s %4.1f%% err p99 %4.0fms\n",
		bar, d.Weight, d.Phase,
		orDash(sig.Blue.Version), sig.Blue.Rate, 100*sig.Blue.ErrorRate, sig.Blue.P99Ms,
		orDash(sig.Green.Version), sig.Green.Rate, 100*sig.Green.ErrorRate, sig.Green.P99Ms)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// steps reads, from the events of green's deployment, when each step's weight held, and
// counts what the clients saw meanwhile.
func steps(l *load, d api.Deployment) []StepObs {
	evs := d.Events
	var out []StepObs
	for i, ev := range evs {
		if !strings.HasPrefix(ev.Message, "step ") || !strings.Contains(ev.Message, "green at") {
			continue
		}
		end := time.Now()
		for _, next := range evs[i+1:] {
			if next.Weight != ev.Weight || next.Phase != ev.Phase {
				end = next.At
				break
			}
		}
		total, green := l.between(ev.At, end, d.Green)
		obs := StepObs{Weight: ev.Weight, Requests: total}
		if total > 0 {
			obs.GreenPercent = float64(green) * 100 / float64(total)
		}
		out = append(out, obs)
	}
	return out
}
