package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cutover/cutover/internal/deploy"
)

// watch prints a line whenever something changes, and a traffic line every second, until the
// deployment ends.
func (e *env) watch(ctx context.Context, id string) {
	seen := 0
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		s, err := e.eng.Deployment(id)
		if err != nil {
			return
		}
		evs, _ := e.eng.Events(id)
		for ; seen < len(evs); seen++ {
			fmt.Fprintf(e.out, "   %s  %s\n", evs[seen].At.Format("15:04:05.000"), evs[seen].Message)
		}
		if s.Phase.Terminal() {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			e.trafficLine(s)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// trafficLine is the live view: phase, a weight bar, per version requests/s, error rate, p99.
func (e *env) trafficLine(s deploy.State) {
	sig, ok := e.router.Signals("shop", 2*time.Second)
	if !ok {
		return
	}
	const width = 20
	g := s.Weight * width / deploy.WeightScale
	bar := strings.Repeat("█", g) + strings.Repeat("░", width-g)
	fmt.Fprintf(e.out, "   [%s] green %5.1f%%  %-12s | blue %s %4.0f req/s %4.1f%% err p99 %4.0fms | green %s %4.0f req/s %4.1f%% err p99 %4.0fms\n",
		bar, float64(s.Weight)/100, s.Phase,
		orDash(sig.Blue.Version), sig.Blue.Total.Rate(), 100*sig.Blue.Total.ErrorRate(), ms(sig.Blue.Total.Quantile(0.99)),
		orDash(sig.Green.Version), sig.Green.Total.Rate(), 100*sig.Green.Total.ErrorRate(), ms(sig.Green.Total.Quantile(0.99)))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// steps reads, from the events of green's deployment, when each step's weight held, and
// counts what the clients saw meanwhile.
func (e *env) steps(l *load, version string) []StepObs {
	hist, err := e.eng.History("shop")
	if err != nil {
		return nil
	}
	var id string
	for _, s := range hist {
		if s.Plan.GreenVersion == version {
			id = s.ID
			break
		}
	}
	evs, _ := e.eng.Events(id)
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
		total, green := l.between(ev.At, end, version)
		obs := StepObs{Weight: float64(ev.Weight) / 100, Requests: total}
		if total > 0 {
			obs.GreenPercent = float64(green) * 100 / float64(total)
		}
		out = append(out, obs)
	}
	return out
}
