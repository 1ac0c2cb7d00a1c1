// Package runtime defines how cutover starts, watches and stops instances, independent of
// where they run: the Driver contract and the types that cross it.
//
// It owns the contract only. Each way of running instances is its own package implementing
// Driver (runtime/process for local child processes; a Docker driver later), and every one
// of them must pass the shared contract suite in runtime/runtimetest. This package must not
// know any driver, the router, health checking or deployments: health is the router's job,
// and the deployment engine declares the narrower ports it needs and is handed a Driver by
// the composition root.
//
// # Lifecycle
//
// Start launches an instance and returns as soon as it is launched, not when it is healthy.
// The returned Instance is a value the caller persists (for example in the store): its Handle
// carries everything the driver needs to find the instance again, including after cutover
// itself restarted. Instances outlive the cutover process that started them; a new driver
// over the same state re-adopts them through List and accepts old Instance values in Status,
// Stop and Logs.
//
// # Environment
//
// Drivers give every instance the variables named by the Env* constants below. They win over
// an entry of the same name in InstanceSpec.Env, so an app can rely on them.
package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Variables every driver sets in an instance's environment. They take precedence over
// InstanceSpec.Env.
const (
	EnvPort     = "PORT"             // the port the instance must serve HTTP on
	EnvApp      = "CUTOVER_APP"      // InstanceSpec.App
	EnvVersion  = "CUTOVER_VERSION"  // InstanceSpec.Release
	EnvInstance = "CUTOVER_INSTANCE" // InstanceSpec.ID
)

// MaxIDLen bounds InstanceSpec.ID.
const MaxIDLen = 128

// ErrNotFound reports that a driver has no trace of an instance: it did not start it, or every
// record of it is gone. Drivers wrap it; test with errors.Is. Stop never returns it: stopping
// an instance that is gone succeeds.
var ErrNotFound = errors.New("instance not found")

// InstanceSpec describes one instance to start.
type InstanceSpec struct {
	// ID names the instance uniquely among the instances of a driver, e.g. "web-v2-1". Drivers
	// use it in file and container names, so it is limited to ASCII letters, digits, '.', '_'
	// and '-', starts with a letter or digit, and is at most MaxIDLen bytes.
	ID string
	// App is the name of the app the instance belongs to, e.g. "web".
	App string
	// Release is the version label of the code it runs, e.g. "v2".
	Release string
	// Argv is the command for drivers that run commands (the process driver): Argv[0] is the
	// program, looked up in PATH when it contains no slash and taken relative to Dir when it
	// is a relative path. It is executed directly, never through a shell.
	Argv []string
	// Image is the artifact for drivers that run images (a container driver). Drivers that
	// run commands ignore it.
	Image string
	// Dir is the working directory; empty means the driver's default (cutover's own working
	// directory for the process driver).
	Dir string
	// Env holds extra environment variables. The driver adds the Env* variables, which win
	// over entries of the same name here.
	Env map[string]string
	// Container holds what container drivers need beyond Image, Argv (the container's
	// command) and Env; nil takes their defaults. Drivers that run commands ignore it.
	Container *ContainerSpec
}

// ContainerSpec is the part of an instance only container drivers use.
type ContainerSpec struct {
	// Entrypoint replaces the image's entrypoint when set.
	Entrypoint []string
	// Port is the port the app serves on inside the container; the driver publishes it on
	// the host at a port of its choosing and sets PORT to it. 0 means 8080.
	Port int
	// MemoryBytes and NanoCPUs limit the container (0: no limit). 1e9 NanoCPUs is one CPU.
	MemoryBytes int64
	NanoCPUs    int64
	// Network is the network to attach the container to; "" is the engine's default bridge.
	Network string
}

// Validate reports every problem of the fields all drivers need (ID, App, Release), with
// the field's name, joined into one error. Drivers check their own fields (Argv, Image).
func (s InstanceSpec) Validate() error {
	var errs []error
	if err := ValidateID(s.ID); err != nil {
		errs = append(errs, err)
	}
	if s.App == "" {
		errs = append(errs, errors.New("app: must not be empty"))
	}
	if s.Release == "" {
		errs = append(errs, errors.New("release: must not be empty"))
	}
	return errors.Join(errs...)
}

// ValidateID reports whether id is usable as an InstanceSpec.ID.
func ValidateID(id string) error {
	if id == "" {
		return errors.New("id: must not be empty")
	}
	if len(id) > MaxIDLen {
		return fmt.Errorf("id: %d bytes, must be at most %d", len(id), MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return fmt.Errorf("id: %q: must be ASCII letters, digits, '.', '_' and '-', starting with a letter or digit", id)
		}
	}
	return nil
}

// Instance is a started instance as its driver reports it. It is a plain value: callers may
// persist it (it marshals to JSON) and hand it back to the same kind of driver later, even
// after cutover restarted.
type Instance struct {
	ID      string `json:"id"`
	App     string `json:"app"`
	Release string `json:"release"`
	// Addr is the host:port the instance serves HTTP on; 127.0.0.1:PORT for local drivers.
	Addr string `json:"addr"`
	// Driver names the driver that started it, e.g. "process".
	Driver string `json:"driver"`
	// Handle is driver-specific and opaque to everyone else: enough for the driver to find
	// the instance again after a restart of cutover.
	Handle json.RawMessage `json:"handle"`
	// StartedAt is when the driver launched it.
	StartedAt time.Time `json:"started_at"`
}

// Status is what a driver knows about an instance's process at one moment.
type Status struct {
	// Running reports whether the instance's process is alive. It says nothing about health.
	Running bool `json:"running"`
	// ExitCode is the exit code when the instance is not running, or -1 when it is unknown
	// (killed by a signal, then Signal is set; or exited while no process of this driver
	// was watching it).
	ExitCode int `json:"exit_code"`
	// Signal names the signal that ended it, e.g. "SIGKILL"; empty if none or unknown.
	Signal string `json:"signal,omitempty"`
	// Reason says in words why it is not running, e.g. "exited with code 3" or "killed by
	// SIGKILL"; empty while it runs.
	Reason string `json:"reason,omitempty"`
}

// Driver starts, watches and stops instances. Implementations are safe for concurrent use.
// Every implementation must pass runtimetest.Run.
type Driver interface {
	// Start launches the instance described by spec and returns once it is launched: not
	// once it is healthy, which is the router's job. It fails if spec is invalid or an
	// instance with the same ID is running. ctx bounds the launch only; cancelling it later
	// does not affect the instance, which lives until Stop (or its own exit), even beyond
	// the life of the cutover process.
	Start(ctx context.Context, spec InstanceSpec) (Instance, error)

	// Stop asks the instance to terminate (SIGTERM), waits up to grace, then kills it
	// (SIGKILL), and returns once it is gone. It is idempotent: stopping an instance that
	// already exited, was already stopped or is unknown returns nil. If ctx ends first, Stop
	// returns ctx's error and the instance may still run.
	Stop(ctx context.Context, in Instance, grace time.Duration) error

	// Status reports whether the instance runs and, if not, how it ended. An instance that
	// ended stays reportable (not running), with its exit code when the driver observed the
	// exit. It returns an error wrapping ErrNotFound if the driver has no trace of it.
	Status(ctx context.Context, in Instance) (Status, error)

	// List returns the instances this driver started that still run, including those
	// started by a previous cutover process over the same state (re-adoption), and never any
	// other.
	List(ctx context.Context) ([]Instance, error)

	// Logs returns up to the last lines lines of the instance's combined stdout and stderr,
	// oldest first, without line terminators. It works after the instance ended as long as
	// the driver keeps its output. It returns an error wrapping ErrNotFound if there is none.
	Logs(ctx context.Context, in Instance, lines int) ([]string, error)
}
