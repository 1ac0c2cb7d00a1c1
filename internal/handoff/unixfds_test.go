package handoff

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

// Sockets sent over a unixpacket connection arrive by name and still listen.
func TestSendRecvFilesPassesListeningSockets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fds.sock")
	l, err := net.Listen("unixpacket", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	f, err := DupFile(tcp.(*net.TCPListener), "tcp")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sent := make(chan error, 1)
	go func() {
		c, err := l.(*net.UnixListener).AcceptUnix()
		if err != nil {
			sent <- err
			return
		}
		defer c.Close()
		sent <- SendFiles(c, map[string]*os.File{"tcp:" + tcp.Addr().String(): f})
	}()
	c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := RecvFiles(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	g := got["tcp:"+tcp.Addr().String()]
	if len(got) != 1 || g == nil {
		t.Fatalf("received %v, want the one socket by its name", got)
	}
	tcp.Close() // only the received copy holds the socket now
	ln, err := net.FileListener(g)
	g.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial the received socket: %v", err)
	}
	conn.Close()
	if a, err := ln.Accept(); err != nil {
		t.Fatalf("accept on the received socket: %v", err)
	} else {
		a.Close()
	}
}
