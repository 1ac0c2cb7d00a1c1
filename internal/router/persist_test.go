package router

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRestartServesTheSavedSplit(t *testing.T) {
	blue, green := startInstance(t, "blue", nil), startInstance(t, "green", nil)
	state := filepath.Join(t.TempDir(), "table.json")
	tbl := appTable([]*testInstance{blue}, []*testInstance{green}, 2500)
	tbl.Apps[0].Health = &HealthCheck{Path: "/", Interval: Duration(time.Second)}
	first := startRouter(t, Options{StatePath: state}, tbl)
	if err := first.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(state)
	if err != nil {
		t.Fatalf("table not saved: %v", err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("saved table mode %o, want 600", perm)
	}
	loaded, err := LoadTable(state)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Apps[0].GreenWeight != 2500 || loaded.Apps[0].Health.Interval != Duration(time.Second) ||
		loaded.Apps[0].Green.Instances[0].Addr != green.addr() {
		t.Fatalf("loaded table differs: %+v", loaded.Apps[0])
	}
	second := startRouter(t, Options{StatePath: state}, loaded)
	c := newClient()
	greens := 0
	for i := 0; i < 2000; i++ {
		code, v := get(t, c, second.url+"/")
		if code != 200 {
			t.Fatalf("request %d after restart: status %d", i, code)
		}
		if v == "green" {
			greens++
		}
	}
	if greens < 400 || greens > 600 {
		t.Fatalf("after restart green served %d of 2000, want about 25%%", greens)
	}
}

func TestFailedApplyChangesNothing(t *testing.T) {
	blue := startInstance(t, "blue", nil)
	state := filepath.Join(t.TempDir(), "table.json")
	tr := startRouter(t, Options{StatePath: state}, appTable([]*testInstance{blue}, nil, 0))
	before, _ := os.ReadFile(state)

	bad := appTable([]*testInstance{blue}, nil, 0)
	bad.Apps[0].GreenWeight = 20000
	bad.Apps[0].Routes[0].PathPrefix = "nope"
	bad.Apps = append(bad.Apps, App{Name: "Bad_Name"})
	err := tr.Apply(bad)
	var ve *ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, ErrInvalidTable) {
		t.Fatalf("want a ValidationError, got %v", err)
	}
	for _, want := range []string{"apps[0].green_weight", "apps[0].routes[0].path_prefix", "apps[1].name", "apps[1].routes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
	// A listener that cannot bind fails the whole apply too.
	busy := appTable([]*testInstance{blue}, nil, 0)
	busy.Listeners = append(busy.Listeners, Listener{Addr: blue.addr()})
	if err := tr.Apply(busy); err == nil || !strings.Contains(err.Error(), "listen on") {
		t.Fatalf("apply with a taken port: want a listen error, got %v", err)
	}
	after, _ := os.ReadFile(state)
	if string(before) != string(after) {
		t.Fatal("a failed apply rewrote the saved table")
	}
	if code, v := get(t, newClient(), tr.url+"/"); code != 200 || v != "blue" {
		t.Fatalf("after failed applies: %d %q", code, v)
	}
}

func TestLoadTableErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadTable(filepath.Join(dir, "missing.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	p := filepath.Join(dir, "t.json")
	for _, tc := range []struct{ desc, body, want string }{
		{"unknown field", `{"listeners":[],"apps":[],"colour":1}`, "unknown field"},
		{"trailing data", `{"listeners":[],"apps":[]} {}`, "unexpected data"},
		{"invalid", `{"listeners":[{"addr":"nope"}],"apps":[]}`, "listeners[0].addr"},
	} {
		if err := os.WriteFile(p, []byte(tc.body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadTable(p); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", tc.desc, err, tc.want)
		}
	}
}
