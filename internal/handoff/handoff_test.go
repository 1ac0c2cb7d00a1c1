package handoff

import (
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func TestInheritWithoutHandoffIsEmpty(t *testing.T) {
	t.Setenv(envNames, "")
	os.Unsetenv(envNames)
	in, err := Inherit()
	if err != nil {
		t.Fatal(err)
	}
	if in.Upgrading() || in.File("lock") != nil {
		t.Fatal("a normal start must inherit nothing")
	}
	if err := in.Ready(); err != nil {
		t.Fatalf("Ready without a parent: %v", err)
	}
}

func TestInheritRefusesMalformedNames(t *testing.T) {
	for _, v := range []string{"", "tcp:127.0.0.1:1", "ready,tcp:127.0.0.1:1"} {
		t.Setenv(envNames, v)
		if _, err := Inherit(); err == nil || !strings.Contains(err.Error(), "malformed") {
			t.Errorf("%s=%q: %v; want a malformed error", envNames, v, err)
		}
	}
}

func TestEncodeNamesRefusesSeparators(t *testing.T) {
	for _, n := range []string{"", "ready", "a,b", "a\x00"} {
		if _, err := encodeNames([]string{n}); err == nil {
			t.Errorf("name %q accepted", n)
		}
	}
}

// DupFile leaves the listener usable and non-blocking: closing it still ends its Accept.
func TestDupFileKeepsListenerNonBlocking(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := DupFile(ln.(*net.TCPListener), "test")
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Fd() // what os/exec does to every file it hands to a child
	done := make(chan error, 1)
	go func() { _, err := ln.Accept(); done <- err }()
	ln.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Accept returned a connection")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Accept still blocked 5s after Close: the socket was left in blocking mode")
	}
	// The duplicate still listens: a connection reaches it.
	ln2, err := net.FileListener(f)
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	f.Close()
	c, err := net.Dial("tcp", ln2.Addr().String())
	if err != nil {
		t.Fatalf("dial the duplicate: %v", err)
	}
	c.Close()
}
