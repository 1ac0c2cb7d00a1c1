package pipeline

import (
	"fmt"

	"github.com/cutover/cutover/internal/spec"
)

// Admission is what a new trigger does to an app's open runs.
type Admission struct {
	// Create is false when an open run already takes the same commit there; Existing names it.
	Create   bool
	Existing string
	// Supersede lists the queued runs the new one replaces.
	Supersede []string
	// Interrupt names the active run the new one cancels (pipeline.interrupt), "" for none.
	Interrupt string
}

// Admit decides what a trigger for want (a full SHA; "" for the branch head, which is
// never a duplicate) does given the app's open runs, oldest first. Queued runs are
// superseded by the newer one; the active run goes on unless interrupt is set, and an
// active run taking the same commit makes the trigger a duplicate.
func Admit(open []State, want string, interrupt bool) Admission {
	var ad Admission
	for _, r := range open {
		if want != "" && (r.Commit.SHA == want || r.Want == want) {
			return Admission{Existing: r.ID}
		}
	}
	ad.Create = true
	for _, r := range open {
		switch r.Phase {
		case Queued:
			ad.Supersede = append(ad.Supersede, r.ID)
		case Running, Approval:
			if interrupt {
				ad.Interrupt = r.ID
			}
		}
	}
	return ad
}

// Next picks the run to start: none while one is active, else the oldest queued.
func Next(open []State) (State, bool) {
	for _, r := range open {
		if r.Phase == Running || r.Phase == Approval {
			return State{}, false
		}
	}
	for _, r := range open {
		if r.Phase == Queued {
			return r, true
		}
	}
	return State{}, false
}

// Plan lists the stages a run of a goes through.
func Plan(a *spec.App) []Stage {
	p := a.Pipeline
	out := []Stage{{Name: KindSource, Kind: KindSource, Status: Pending}, {Name: KindBuild, Kind: KindBuild, Status: Pending}}
	for _, t := range p.Tests {
		out = append(out, Stage{Name: t.Name, Kind: KindTest, Status: Pending})
	}
	if p.Approval {
		out = append(out, Stage{Name: KindApproval, Kind: KindApproval, Status: Pending})
	}
	return append(out, Stage{Name: KindDeploy, Kind: KindDeploy, Status: Pending})
}

// supersededReason is the reason a queued run records when a newer commit replaces it.
func supersededReason(by string, short string) string {
	if short == "" {
		return fmt.Sprintf("superseded by %s, queued after it for a newer commit", by)
	}
	return fmt.Sprintf("superseded by %s (commit %s), queued after it", by, short)
}
