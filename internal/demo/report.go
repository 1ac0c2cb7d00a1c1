package demo

import (
	"fmt"
	"io"
)

// Print writes the summary for a person.
func (s Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "== summary (%.0f s)\n", s.Seconds)
	row := func(name string, p Phase, extra string) {
		fmt.Fprintf(w, "  %-3s %-12s %6d requests, %4d failed, %5.1f s%s\n", name, p.Outcome, p.Requests, p.Failed, p.Seconds, extra)
	}
	row("v1", s.V1, "")
	row("v2", s.V2, "")
	for _, st := range s.Steps {
		fmt.Fprintf(w, "        step %5.1f%%: clients saw %5.1f%% green over %d requests\n", st.Weight, st.GreenPercent, st.Requests)
	}
	row("v3", s.V3.Phase, fmt.Sprintf("; blast radius: %d requests answered badly by v3 before rollback", s.V3.BadResponses))
	fmt.Fprintf(w, "      %s\n", s.V3.Reason)
	fmt.Fprintf(w, "  leftover processes: %d\n", s.LeftoverProcesses)
}
