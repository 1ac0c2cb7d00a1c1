// Package docker is the runtime driver that runs instances as containers of a Docker engine,
// over the Engine API (github.com/moby/moby/client, API version negotiated, 1.40 or newer).
// It implements runtime.Driver and passes runtime/runtimetest; it also builds images (Build)
// and answers whether one exists (ImageExists), for deployments that build their release.
//
// It owns the containers it creates and nothing else: it must not know the router, health
// checks or deployments.
//
// # Ownership
//
// Every container carries the label cutover.owner=Options.Owner (one owner per cutover
// server, i.e. per data dir) next to cutover.app, cutover.release, cutover.instance,
// cutover.port and cutover.started. List, Status, Stop, Logs and the reaping of ended
// containers only ever touch containers whose owner label is this driver's Owner, so two
// servers, or anything else running on the engine, are never disturbed. A container is named
// cutover-<owner hash>-<instance ID>, so one owner cannot run two instances of one ID.
//
// # Starting
//
// Start creates and starts a container from InstanceSpec.Image with spec.Argv as its command
// (the image's when empty) and ContainerSpec.Entrypoint as its entrypoint (the image's when
// empty). $PORT, $CUTOVER_APP, $CUTOVER_VERSION, $CUTOVER_INSTANCE and the names of
// spec.Env are expanded in both, as the process driver does, since no shell runs them. The
// environment is spec.Env plus the runtime.Env* variables, PORT being the container port
// (ContainerSpec.Port, default 8080). Memory (with no swap beyond it) and NanoCPUs limits and
// the network come from ContainerSpec.
//
// The container port is published at a port the engine picks. On a local engine (a unix
// socket) it is published on 127.0.0.1 only and Instance.Addr is 127.0.0.1:<host port>. On
// a remote engine (tcp:// or ssh://) it is published on 0.0.0.0 and Addr is the engine
// host's name from Options.Host with the host port: cutover must be able to reach that host,
// and whoever else reaches it reaches the instance too, so put such engines on a private
// network. On the "host" network nothing is published and Addr uses the container port.
//
// # Ending
//
// Stop is ContainerStop with the grace rounded up to whole seconds (the engine's unit):
// SIGTERM, then SIGKILL. It then keeps the container's final status and its last
// keptLogLines log lines in memory, and removes the container, so stopped containers never
// pile up. A container that exits on its own stays, with its logs, until Stop or until a
// List, which reaps the ended containers of this owner the same way (after a restart of
// cutover nobody else would), and also containers created over a minute ago and never
// started (a Start that crashed). The memory is per Driver value: after a restart of
// cutover, Status of an instance whose container is gone says it ended, how unknown, and
// Logs reports runtime.ErrNotFound.
//
// Exit codes above 128 are taken as 128+signal, as the engine reports a process killed by a
// signal: 137 is SIGKILL, with ExitCode -1. A container killed for exceeding its memory
// limit says so in its Reason.
package docker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"sync"

	"github.com/moby/moby/client"

	"github.com/cutover/cutover/internal/runtime"
)

// Name is the driver's name in runtime.Instance.Driver.
const Name = "docker"

// defaultHost is the engine address when neither Options.Host nor DOCKER_HOST say one.
const defaultHost = "unix:///var/run/docker.sock"

// Labels on every container of this driver.
const (
	labelOwner    = "cutover.owner"
	labelApp      = "cutover.app"
	labelRelease  = "cutover.release"
	labelInstance = "cutover.instance"
	labelPort     = "cutover.port"    // the container port
	labelStarted  = "cutover.started" // RFC 3339 time of Start, for Instance.StartedAt
)

// Options configure a Driver.
type Options struct {
	// Host is the engine address; "" takes DOCKER_HOST, else unix:///var/run/docker.sock.
	// unix://, tcp:// and ssh://[user@]host[:port] are supported; ssh runs
	// `ssh ... docker system dial-stdio` on the engine's host as the connection, as the
	// docker CLI does. DOCKER_CERT_PATH and DOCKER_TLS_VERIFY apply to tcp://.
	Host string
	// Owner identifies the cutover server (one per data dir) that owns containers: it is
	// written as a label, and List, re-adoption and reaping only ever touch containers with
	// this owner label. Required.
	Owner string
	// Logger receives the driver's events; nil discards them.
	Logger *slog.Logger
}

// Driver runs instances as Docker containers. It is safe for concurrent use.
type Driver struct {
	cli      *client.Client
	host     string // the engine address, for messages
	addrHost string // the host part of Instance.Addr
	bindIP   string // where container ports are published
	owner    string
	prefix   string // of container names: "cutover-<owner hash>-"
	log      *slog.Logger

	mu    sync.Mutex
	ended map[string]*ended // by container ID: containers this driver removed
}

var _ runtime.Driver = (*Driver)(nil)

// New returns a Driver for the engine at opts.Host. It does not contact the engine: calls
// fail with an error naming the address when it cannot be reached (see Ping).
func New(opts Options) (*Driver, error) {
	if opts.Owner == "" {
		return nil, errors.New("docker: new driver: Owner is required")
	}
	host := opts.Host
	if host == "" {
		host = os.Getenv(client.EnvOverrideHost)
	}
	if host == "" {
		host = defaultHost
	}
	u, err := url.Parse(host)
	if err != nil {
		return nil, fmt.Errorf("docker: new driver: engine address %q: %w", host, err)
	}
	clientOpts := []client.Opt{client.WithTLSClientConfigFromEnv(), client.WithAPIVersionFromEnv()}
	d := &Driver{host: host, owner: opts.Owner, log: opts.Logger, ended: map[string]*ended{}}
	switch u.Scheme {
	case "unix":
		d.addrHost, d.bindIP = "127.0.0.1", "127.0.0.1"
		clientOpts = append(clientOpts, client.WithHost(host))
	case "tcp":
		if u.Hostname() == "" {
			return nil, fmt.Errorf("docker: new driver: engine address %q has no host", host)
		}
		if u.Port() == "" { // the engine's conventional ports, as the docker CLI assumes
			port := "2375"
			if os.Getenv(client.EnvOverrideCertPath) != "" || os.Getenv(client.EnvTLSVerify) != "" {
				port = "2376"
			}
			u.Host = net.JoinHostPort(u.Hostname(), port)
		}
		d.addrHost, d.bindIP = u.Hostname(), "0.0.0.0"
		clientOpts = append(clientOpts, client.WithHost(u.String()))
	case "ssh":
		if u.Hostname() == "" {
			return nil, fmt.Errorf("docker: new driver: engine address %q has no host", host)
		}
		d.addrHost, d.bindIP = u.Hostname(), "0.0.0.0"
		clientOpts = append(clientOpts, sshOpts(u)...)
	default:
		return nil, fmt.Errorf("docker: new driver: engine address %q: scheme %q is not supported (use unix://, tcp:// or ssh://)", host, u.Scheme)
	}
	d.cli, err = client.New(clientOpts...)
	if err != nil {
		return nil, fmt.Errorf("docker: new driver: engine address %q: %w", host, err)
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	sum := sha256.Sum256([]byte(opts.Owner))
	d.prefix = "cutover-" + hex.EncodeToString(sum[:])[:8] + "-"
	return d, nil
}

// Close releases the driver's idle connections to the engine. Containers keep running.
func (d *Driver) Close() error { return d.cli.Close() }

// Host returns the engine address the driver talks to.
func (d *Driver) Host() string { return d.host }

// Ping checks that the engine answers, with an error a user can act on.
func (d *Driver) Ping(ctx context.Context) error {
	if _, err := d.cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return fmt.Errorf("docker: %w", d.engineErr(err))
	}
	return nil
}

// engineErr adds what to do to an error of the client: an unreachable engine is named with
// its address and the usual causes.
func (d *Driver) engineErr(err error) error {
	if client.IsErrConnectionFailed(err) {
		return fmt.Errorf("cannot reach the Docker engine at %s: %w; is dockerd running there? If it listens elsewhere, set DOCKER_HOST to its address", d.host, err)
	}
	return err
}

// containerName is the name of the container of instance id.
func (d *Driver) containerName(id string) string { return d.prefix + id }
