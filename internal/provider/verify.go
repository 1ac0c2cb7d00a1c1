package provider

import (
	"fmt"
	"time"
)

// Verify decides whether the engine may act on w: the provider holds w's weight, converged,
// without drift, and now is past EffectiveAt. When it may not, reason says why, in words
// for events and `why`. Verify is pure; the engine calls it after every Observe.
func Verify(o Observed, w Written, now time.Time) (ok bool, reason string) {
	switch {
	case o.Drift != "":
		return false, "drift: " + o.Drift
	case o.GreenBP != w.GreenBP:
		return false, fmt.Sprintf("provider holds green at %s, wrote %s", pct(o.GreenBP), pct(w.GreenBP))
	case !o.Converged:
		r := "provider has not converged on the written weight"
		if o.Reason != "" {
			r += ": " + o.Reason
		}
		return false, r
	case now.Before(o.EffectiveAt):
		settle := o.Settle
		if settle == "" {
			settle = "the provider's settle time"
		}
		return false, fmt.Sprintf("waiting for %s (until %s)", settle, o.EffectiveAt.UTC().Format("15:04:05.000"))
	}
	return true, ""
}

func pct(bp int) string {
	if bp%100 == 0 {
		return fmt.Sprintf("%d%%", bp/100)
	}
	return fmt.Sprintf("%.2f%%", float64(bp)/100)
}
