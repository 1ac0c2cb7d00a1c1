package process

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/runtime"
)

func TestParseStat(t *testing.T) {
	tail := " 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 987654 23 24" // fields 6 to 24
	for _, tc := range []struct {
		desc string
		in   string
		want procStat
		err  bool
	}{
		{desc: "plain", in: "42 (app) S 1 42" + tail, want: procStat{State: 'S', PGRP: 42, StartTicks: 987654}},
		{desc: "name with spaces and parens", in: "42 (a) b (c)) Z 1 7" + tail, want: procStat{State: 'Z', PGRP: 7, StartTicks: 987654}},
		{desc: "no name", in: "42 S 1 42" + tail, err: true},
		{desc: "truncated", in: "42 (app) S 1 42 1 2", err: true},
		{desc: "bad start", in: "42 (app) S 1 42 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 x", err: true},
	} {
		got, err := parseStat([]byte(tc.in))
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("%s: parseStat = %+v, %v; want %+v, error %v", tc.desc, got, err, tc.want, tc.err)
		}
	}
}

func TestReadStatSelf(t *testing.T) {
	st, err := readStat(os.Getpid())
	if err != nil || st.StartTicks == 0 || st.exited() {
		t.Fatalf("readStat(self) = %+v, %v", st, err)
	}
	if _, err := readStat(1 << 30); err == nil {
		t.Errorf("readStat of a PID beyond pid_max succeeded")
	}
}

func TestEnviron(t *testing.T) {
	spec := runtime.InstanceSpec{ID: "web-v2-1", App: "web", Release: "v2",
		Env: map[string]string{"B": "spec", "PORT": "1", "C": "spec"}}
	got := environ([]string{"A=base", "B=base", "CUTOVER_APP=base", "junk"}, spec, 8080, "/state")
	want := []string{"A=base", "B=spec", "CUTOVER_APP=web", "C=spec", "PORT=8080",
		"CUTOVER_VERSION=v2", "CUTOVER_INSTANCE=web-v2-1", EnvStateDir + "=/state"}
	if !slices.Equal(got, want) {
		t.Errorf("environ =\n%q\nwant\n%q", got, want)
	}
}

func TestExpandArgv(t *testing.T) {
	spec := runtime.InstanceSpec{ID: "web-v2-1", App: "web", Release: "v2",
		Argv: []string{"./web", "--port", "$PORT", "--addr=127.0.0.1:${PORT}", "$CUTOVER_VERSION", "$NAME", "$UNKNOWN", "a;b $(x)"},
		Env:  map[string]string{"NAME": "shop"}}
	got := expandArgv(spec, 8123)
	want := []string{"./web", "--port", "8123", "--addr=127.0.0.1:8123", "v2", "shop", "$UNKNOWN", "a;b $(x)"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("expandArgv = %q, want %q", got, want)
	}
}
