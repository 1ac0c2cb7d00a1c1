// Package routerctl runs the router as its own long-lived process and lets the control
// plane drive it over a local socket.
//
// The data plane must outlive the control plane: a crash, kill or upgrade of `cutover
// server` must not fail a request. So `cutover server` starts `cutover router --data-dir DIR`
// when none runs (Ensure), pushes whole tables to it over DIR/router.sock (Client) and reads
// back health, signals and drain state the same way. The router process (Run) holds the
// listeners, saves every applied table to DIR/router-table.json and serves it again when it
// starts, so traffic keeps its last split while the server is down. It replaces itself with
// a new binary without refusing a connection (SIGUSR2 or POST /v1/upgrade; package handoff).
// The server's Supervisor holds duplicates of the router's listening sockets (passed over
// DIR/router-fds.sock) and hands them to the router it restarts when one dies, so a killed
// router refuses no connection either.
//
// The protocol is HTTP/1.1 with JSON bodies over the unix socket, which is created 0600 in
// the server's 0700 data directory: whoever can open it owns the machine's traffic.
package routerctl

import "path/filepath"

// Files of the router process inside the data directory.
const (
	SocketFile = "router.sock"       // the control socket
	TableFile  = "router-table.json" // the last applied table
	LockFile   = "router.lock"       // held by the one router serving this directory
	LogFile    = "router.log"        // the router's output when the server started it
)

// SocketPath is the control socket of the router serving dataDir.
func SocketPath(dataDir string) string { return filepath.Join(dataDir, SocketFile) }
