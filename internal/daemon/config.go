package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/cutover/cutover/internal/egress"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/engine"
	"gopkg.in/yaml.v3"
)

// DefaultListen is the TCP API address `cutover server` uses unless told otherwise.
const DefaultListen = "127.0.0.1:7070"

// Config is what `cutover server` needs to know.
type Config struct {
	// DataDir holds everything the server keeps: the tokens, the owner ID, state.db,
	// instances/, the router table and the socket. Default DefaultDataDir().
	DataDir string
	// Socket is the unix socket the local CLI talks over (no token needed); default
	// <DataDir>/cutover.sock.
	Socket string
	// Listen is the TCP API address (a bearer token is required there); "" serves none.
	Listen string
	// InsecureNonLoopback allows a Listen address that is not loopback. The API then travels
	// in clear text with its token, so it is logged at WARN on every start.
	InsecureNonLoopback bool
	// TLSCert and TLSKey, both set, serve the TCP API over TLS; then a non-loopback Listen
	// needs no opt-out.
	TLSCert, TLSKey string
	// RouterExe runs the router as its own process from this binary (`RouterExe router
	// --data-dir DataDir`), started when none serves the data dir and left running when the
	// server stops, so traffic outlives the control plane. "" runs the router inside the
	// server, which then takes traffic down with it (tests, --embedded-router).
	RouterExe string
	// DockerHost is the Docker engine that runs apps with run.docker; "" takes DOCKER_HOST,
	// else the local socket (unix:///var/run/docker.sock). It is contacted only when an
	// app uses it.
	DockerHost string
	// HeaderTimeout bounds how long a TCP client may take to send a request's head, and
	// BodyTimeout its body (from the end of the head); a client slower than either is
	// disconnected. Defaults DefaultHeaderTimeout and DefaultBodyTimeout.
	HeaderTimeout, BodyTimeout time.Duration
	// AuthFailDelay is how long a wrong token (API or dashboard login) waits before its
	// answer, and AuthFailLimit how many in a burst from one address are answered 401
	// before the rest get 429; defaults authfail.DefaultDelay and authfail.DefaultLimit.
	AuthFailDelay time.Duration
	AuthFailLimit int
	// MaxStreamsPerToken bounds the event streams open at once per token or dashboard
	// session (beyond: 429); default apiserver.DefaultMaxStreams.
	MaxStreamsPerToken int
	// MaxUnauthConns and MaxUnauthConnsPerIP bound the TCP connections that have not sent
	// an authenticated request head, in total and per client address; past either the
	// oldest such connection is closed. Defaults DefaultMaxUnauthConns, DefaultMaxUnauthConnsPerIP.
	MaxUnauthConns, MaxUnauthConnsPerIP int
	// Limits bound the apps the server holds and the history kept per app (zero fields
	// take engine.DefaultLimits).
	Limits engine.Limits
	// DNS is the address (HOST:PORT, UDP and TCP) the server answers traffic.dns names on;
	// "" answers no DNS, and apps with traffic.dns are refused at apply.
	DNS string
	// Egress is the server's allow list for hooks with a url, webhooks and external checks;
	// an app's egress.allow can only narrow it. Empty allows every host.
	Egress egress.Policy
	Logger *slog.Logger
}

// DefaultDataDir is api.DefaultDataDir: the CLI and the server agree on it.
func DefaultDataDir() string { return api.DefaultDataDir() }

// DefaultSocket is the socket inside dataDir.
func DefaultSocket(dataDir string) string { return api.DefaultSocket(dataDir) }

// File is the optional config file (YAML or JSON). A field left out keeps its default;
// flags and environment variables override what the file says.
type File struct {
	DataDir *string `yaml:"data_dir" json:"data_dir"`
	Socket  *string `yaml:"socket" json:"socket"`
	Listen  *string `yaml:"listen" json:"listen"` // "" serves no TCP API
	// DockerHost is Config.DockerHost.
	DockerHost *string `yaml:"docker_host" json:"docker_host"`
	// DNS is Config.DNS.
	DNS *string `yaml:"dns" json:"dns"`
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
		return f, fmt.Errorf("config file %s: %w (known fields: data_dir, socket, listen, docker_host, dns)", path, err)
	}
	return f, nil
}
