package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// DefaultListen is the TCP API address `cutover server` uses unless told otherwise.
const DefaultListen = "127.0.0.1:7070"

// Config is what `cutover server` needs to know.
type Config struct {
	// DataDir holds everything the server keeps: token, state.db, instances/, the router
	// table and the socket. Default DefaultDataDir().
	DataDir string
	// Socket is the unix socket the local CLI talks over (no token needed); default
	// <DataDir>/cutover.sock.
	Socket string
	// Listen is the TCP API address (a bearer token is required there); "" serves none.
	Listen string
	// InsecureNonLoopback allows a Listen address that is not loopback. The API then travels
	// in clear text with its token, so it is logged at WARN on every start.
	InsecureNonLoopback bool
	Logger              *slog.Logger
}

// DefaultDataDir is $XDG_STATE_HOME/cutover, or ~/.local/state/cutover, or ./.cutover when
// neither can be found. CUTOVER_DATA_DIR overrides all of them.
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

// DefaultSocket is the socket inside dataDir.
func DefaultSocket(dataDir string) string { return filepath.Join(dataDir, "cutover.sock") }

// File is the optional config file (YAML or JSON). A field left out keeps its default;
// flags and environment variables override what the file says.
type File struct {
	DataDir *string `yaml:"data_dir" json:"data_dir"`
	Socket  *string `yaml:"socket" json:"socket"`
	Listen  *string `yaml:"listen" json:"listen"` // "" serves no TCP API
}

// LoadFile reads a config file. JSON is read as YAML, of which it is a subset.
func LoadFile(path string) (File, error) {
	var f File
	data, err := os.ReadFile(path)
	if err != nil {
		return f, fmt.Errorf("read config file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return f, fmt.Errorf("config file %s: %w (known fields: data_dir, socket, listen)", path, err)
	}
	return f, nil
}
