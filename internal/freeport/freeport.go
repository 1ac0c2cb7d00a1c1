// Package freeport picks loopback TCP ports for listeners that another program binds later:
// a child process, moto_server, a test's second server.
//
// Listening on port 0 and closing the listener hands out a port from the kernel's ephemeral
// range, the same range every outgoing connection and every other listen(":0") on the machine
// draws from, so another program may take it before the intended one binds it (parallel test
// processes did, now and then). Loopback picks a random port below that range instead, where
// the kernel never allocates on its own, and checks that it is free by binding it. Two callers
// picking at random among twenty thousand ports collide rarely; nothing can rule out a
// program that binds fixed ports.
package freeport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// floor is the lowest port picked: above the well-known and most registered service ports.
const floor = 10000

// rangeFile holds the kernel's ephemeral port range, "low\thigh".
const rangeFile = "/proc/sys/net/ipv4/ip_local_port_range"

// Loopback returns a port on 127.0.0.1 that is free at the time of the call and outside the
// kernel's ephemeral range. Where that range leaves fewer than a thousand ports above floor,
// it falls back to the kernel's choice.
func Loopback() (int, error) {
	low := ephemeralLow()
	if low-floor < 1000 {
		return kernelPick()
	}
	for range 64 {
		p := floor + rand.IntN(low-floor)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		l.Close()
		return p, nil
	}
	return 0, fmt.Errorf("freeport: 64 random ports in %d-%d were all taken", floor, low-1)
}

// Addr is Loopback as "127.0.0.1:PORT".
func Addr() (string, error) {
	p, err := Loopback()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), nil
}

func ephemeralLow() int {
	b, err := os.ReadFile(rangeFile)
	if err != nil {
		return 32768 // Linux's default
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 32768
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return 32768
	}
	return n
}

func kernelPick() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("freeport: %w", err)
	}
	defer l.Close()
	a, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, errors.New("freeport: listener has no TCP address")
	}
	return a.Port, nil
}
