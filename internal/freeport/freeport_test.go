package freeport

import (
	"net"
	"strconv"
	"testing"
)

func TestLoopbackIsFreeAndBelowTheEphemeralRange(t *testing.T) {
	low := ephemeralLow()
	seen := map[int]bool{}
	for range 20 {
		p, err := Loopback()
		if err != nil {
			t.Fatal(err)
		}
		if low-floor >= 1000 && (p < floor || p >= low) {
			t.Fatalf("port %d outside [%d, %d)", p, floor, low)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("port %d was handed out but does not bind: %v", p, err)
		}
		l.Close()
		seen[p] = true
	}
	if len(seen) < 15 {
		t.Fatalf("20 picks gave only %d distinct ports: not random", len(seen))
	}
}

func TestLoopbackSkipsATakenPort(t *testing.T) {
	// Hold many ports in the range; every pick must still be one that binds.
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for range 200 {
		p, err := Loopback()
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("pick %d of a partly held range does not bind: %v", len(held), err)
		}
		held = append(held, l)
	}
}
