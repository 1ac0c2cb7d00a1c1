package api

import (
	"os"
	"path/filepath"
)

// Where a server keeps its state, and so where the CLI finds its socket and token by default.
const (
	SocketFile = "cutover.sock"
	// TokenFile holds the admin token: every route.
	TokenFile = "token"
	// ReadOnlyTokenFile holds the viewer token: reads and event streams only; every route that
	// changes something answers 403 forbidden.
	ReadOnlyTokenFile = "token-readonly"
)

// The dashboard's alternative to a bearer token: the session cookie POST /ui/login sets, and
// the header that must carry the session's CSRF token on every method but GET and HEAD.
const (
	SessionCookie = "cutover_session"
	CSRFHeader    = "X-CSRF-Token"
)

// DefaultDataDir is the server's data directory unless told otherwise: $CUTOVER_DATA_DIR,
// else $XDG_STATE_HOME/cutover, else ~/.local/state/cutover, else ./.cutover.
func DefaultDataDir() string {
	if d := os.Getenv("CUTOVER_DATA_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "cutover")
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".local", "state", "cutover")
	}
	return ".cutover"
}

// DefaultSocket is the API socket inside dataDir.
func DefaultSocket(dataDir string) string { return filepath.Join(dataDir, SocketFile) }
