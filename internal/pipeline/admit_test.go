package pipeline

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/spec"
)

func TestAdmit(t *testing.T) {
	active := State{ID: "web-run-1", Phase: Running, Commit: Commit{SHA: "aaa"}}
	q2 := State{ID: "web-run-2", Phase: Queued, Want: "bbb", Commit: Commit{SHA: "bbb"}}
	q3 := State{ID: "web-run-3", Phase: Queued, Want: "ccc", Commit: Commit{SHA: "ccc"}}
	head := State{ID: "web-run-4", Phase: Queued}
	for _, c := range []struct {
		name      string
		open      []State
		want      string
		interrupt bool
		out       Admission
	}{
		{"nothing open", nil, "ddd", false, Admission{Create: true}},
		{"the active run's commit again", []State{active}, "aaa", false, Admission{Existing: "web-run-1"}},
		{"a queued run's commit again", []State{active, q2}, "bbb", true, Admission{Existing: "web-run-2"}},
		{"a newer commit supersedes every queued run, not the active one", []State{active, q2, q3}, "ddd", false,
			Admission{Create: true, Supersede: []string{"web-run-2", "web-run-3"}}},
		{"interrupt cancels the active run too", []State{active, q2}, "ddd", true,
			Admission{Create: true, Supersede: []string{"web-run-2"}, Interrupt: "web-run-1"}},
		{"the branch head is never a duplicate", []State{head}, "", false, Admission{Create: true, Supersede: []string{"web-run-4"}}},
		{"waiting for approval counts as active", []State{{ID: "web-run-5", Phase: Approval, Commit: Commit{SHA: "eee"}}}, "fff", true,
			Admission{Create: true, Interrupt: "web-run-5"}},
	} {
		if got := Admit(c.open, c.want, c.interrupt); !reflect.DeepEqual(got, c.out) {
			t.Errorf("%s: Admit = %+v, want %+v", c.name, got, c.out)
		}
	}
}

func TestNext(t *testing.T) {
	q := []State{{ID: "web-run-2", Phase: Queued}, {ID: "web-run-3", Phase: Queued}}
	if r, ok := Next(q); !ok || r.ID != "web-run-2" {
		t.Fatalf("Next of queued runs = %s %v, want the oldest", r.ID, ok)
	}
	if _, ok := Next(append([]State{{ID: "web-run-1", Phase: Approval}}, q...)); ok {
		t.Fatal("Next started a run while one waits for approval")
	}
	if _, ok := Next(nil); ok {
		t.Fatal("Next of nothing started a run")
	}
}

func TestPlanAndEnd(t *testing.T) {
	a := &spec.App{Pipeline: &spec.Pipeline{Tests: []spec.PipelineTest{{Name: "unit"}, {Name: "smoke"}}, Approval: true}}
	st := State{Stages: Plan(a)}
	var names []string
	for _, s := range st.Stages {
		names = append(names, s.Name)
	}
	if strings.Join(names, ",") != "source,build,unit,smoke,approval,deploy" {
		t.Fatalf("Plan = %v", names)
	}
	st.Stages[0].Status, st.Stages[1].Status = Passed, Active
	now := time.Unix(100, 0)
	st.end(Failed, Broken, "build failed", now)
	want := []string{Passed, Broken, Skipped, Skipped, Skipped, Skipped}
	for i, s := range st.Stages {
		if s.Status != want[i] {
			t.Errorf("after end, stage %s is %s, want %s", s.Name, s.Status, want[i])
		}
	}
	if st.Phase != Failed || !st.EndedAt.Equal(now) || st.Current() != nil || !st.Phase.Terminal() {
		t.Fatalf("ended state: %+v", st)
	}
}
