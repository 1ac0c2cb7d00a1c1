package routerctl_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/routerctl"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

func TestRouterProcessServesPushedTableAndKeepsItsFilesPrivate(t *testing.T) {
	r := newRig(t)
	if err := r.c.Apply(r.table(0)); err != nil {
		t.Fatal(err)
	}
	if v, err := r.get(); err != nil || v != "blue" {
		t.Fatalf("GET through the router: %q, %v; want blue", v, err)
	}
	pid := r.pid()
	_, st, started, err := routerctl.Ensure(context.Background(), r.dir, r.exe, nil, slog.New(slog.DiscardHandler))
	if err != nil || started || st.PID != pid {
		t.Fatalf("Ensure with a router serving: started=%v pid=%d err=%v; want the running one (%d)", started, st.PID, err, pid)
	}
	for _, f := range []string{routerctl.SocketFile, routerctl.TableFile, routerctl.LockFile, routerctl.LogFile} {
		fi, err := os.Stat(filepath.Join(r.dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %o, want 600", f, perm)
		}
	}
	// A bad table is refused with the reason, and the old one keeps serving.
	bad := r.table(0)
	bad.Apps[0].GreenWeight = 20000
	if err := r.c.Apply(bad); err == nil || !strings.Contains(err.Error(), "green_weight") {
		t.Fatalf("Apply of a weight of 20000: %v; want an error naming green_weight", err)
	}
	if v, err := r.get(); err != nil || v != "blue" {
		t.Fatalf("after a refused table: %q, %v; want blue", v, err)
	}
}

func TestSecondRouterOnSameDataDirIsRefused(t *testing.T) {
	r := newRig(t)
	out, err := runRouter(t, r.exe, "--data-dir", r.dir)
	if err == nil || !strings.Contains(out, "another cutover router already serves") {
		t.Fatalf("second router: err=%v output=%q; want a refusal naming the running one", err, out)
	}
	if _, err := r.c.Ping(context.Background()); err != nil {
		t.Fatalf("the first router stopped answering: %v", err)
	}
}

func TestKilledRouterComesBackWithItsSavedTable(t *testing.T) {
	r := newRig(t)
	if err := r.c.Apply(r.table(10000)); err != nil {
		t.Fatal(err)
	}
	pid := r.pid()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
	_, st, started, err := routerctl.Ensure(context.Background(), r.dir, r.exe, nil, slog.New(slog.DiscardHandler))
	if err != nil || !started || st.PID == pid {
		t.Fatalf("Ensure after kill -9: started=%v pid=%d err=%v; want a new process", started, st.PID, err)
	}
	// No table pushed: it serves the one it saved before it was killed.
	if v, err := r.get(); err != nil || v != "green" {
		t.Fatalf("GET after the restart: %q, %v; want green (the saved 100%% split)", v, err)
	}
}

func TestUpgradeUnderLoadFailsNoRequest(t *testing.T) {
	r := newRig(t)
	if err := r.c.Apply(r.table(0)); err != nil {
		t.Fatal(err)
	}
	load := sampletest.StartLoad(t, "http://"+r.listen+"/", 8)
	load.WaitSent(t, 300, 20*time.Second)
	pids := []int{r.pid()}
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
		pid, err := r.c.Upgrade(ctx)
		cancel()
		if err != nil {
			t.Fatalf("upgrade %d: %v", i+1, err)
		}
		if pid == pids[len(pids)-1] {
			t.Fatalf("upgrade %d: still pid %d", i+1, pid)
		}
		waitGone(t, pids[len(pids)-1])
		pids = append(pids, pid)
		if got := r.pid(); got != pid {
			t.Fatalf("after upgrade %d the control socket answers from pid %d, want %d", i+1, got, pid)
		}
		load.WaitSent(t, 300, 20*time.Second)
	}
	// The upgraded process takes tables: move everything to green and see it.
	if err := r.c.Apply(r.table(10000)); err != nil {
		t.Fatal(err)
	}
	before := load.ByVersion()["green"]
	deadline := time.Now().Add(20 * time.Second)
	for load.ByVersion()["green"] < before+200 {
		if time.Now().After(deadline) {
			t.Fatalf("green got %d requests after the switch, want 200", load.ByVersion()["green"]-before)
		}
		time.Sleep(10 * time.Millisecond)
	}
	load.End()
	if load.Failed() != 0 {
		t.Fatalf("%d of %d requests failed across 3 upgrades (pids %v): %v", load.Failed(), load.Sent(), pids, load.Errors())
	}
	t.Logf("3 upgrades (pids %v) under load: %d requests, 0 failed", pids, load.Sent())
}

func TestUpgradeToBrokenBinaryKeepsTheOldRouter(t *testing.T) {
	r := newRig(t)
	if err := r.c.Apply(r.table(0)); err != nil {
		t.Fatal(err)
	}
	pid := r.pid()
	broken := filepath.Join(r.dir, "broken")
	if err := os.WriteFile(broken, []byte("#!/bin/sh\necho 'cannot start' >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, broken, r.exe)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	if _, err := r.c.Upgrade(ctx); err == nil || !strings.Contains(err.Error(), "exited before it was ready") {
		t.Fatalf("upgrade to a binary that exits: %v; want an error saying it exited before it was ready", err)
	}
	if got := r.pid(); got != pid {
		t.Fatalf("after a failed upgrade pid %d answers, want the old %d", got, pid)
	}
	if v, err := r.get(); err != nil || v != "blue" {
		t.Fatalf("after a failed upgrade: %q, %v; want blue", v, err)
	}
	copyFile(t, built, r.exe)
	newPID, err := r.c.Upgrade(ctx)
	if err != nil || newPID == pid {
		t.Fatalf("upgrade to the good binary again: pid %d, %v", newPID, err)
	}
	if v, err := r.get(); err != nil || v != "blue" {
		t.Fatalf("after the upgrade: %q, %v; want blue", v, err)
	}
	waitGone(t, pid) // a socket left in blocking mode by the failed handover would hang its drain
}
