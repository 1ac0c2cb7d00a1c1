// Package process is the runtime driver that runs instances as local child processes of
// cutover. It implements runtime.Driver and passes runtime/runtimetest.
//
// It owns processes, their log files and its state directory, and nothing else: it must not
// know the router, health checks or deployments.
//
// # Starting
//
// Start picks a free port on 127.0.0.1 (a random one below the kernel's ephemeral range, bound
// and closed to check it is free, see package freeport: another program could still take it
// before the instance binds it, but no outgoing connection or listen on port 0 will; the driver
// never hands one port to two of its running instances), then executes spec.Argv
// directly (never through a shell) in spec.Dir with this environment, later entries winning:
// cutover's own environment, then spec.Env, then PORT, CUTOVER_APP, CUTOVER_VERSION and
// CUTOVER_INSTANCE. Stdin is /dev/null; stdout and stderr both append to
// StateDir/logs/<ID>.log.
//
// Each instance runs in its own process group and is not tied to cutover's life (no parent
// death signal): instances keep serving while cutover restarts, and a new Driver over the
// same StateDir re-adopts them.
//
// # State
//
// StateDir/instances/<ID>.json records every instance believed to run: its runtime.Instance,
// whose Handle holds the PID, process group, port, log path, the kernel's boot ID and the
// process's start time in clock ticks (field 22 of /proc/<pid>/stat). The start time and boot
// ID tell the instance from a later process that reuses its PID: the driver never signals or
// adopts a PID whose start time differs. The file is written atomically at Start and removed
// when the instance is stopped or found gone. Directories are 0700, files 0600. Log files
// are kept after an instance ends; removing old ones is up to the operator.
//
// # Exits
//
// An instance started by this Driver value is its child: a goroutine waits for it, so it
// never lingers as a zombie, and Status reports its exit code or signal. An adopted instance
// (started by an earlier cutover process) is not a child: the driver checks /proc/<pid>/stat
// whenever it is asked (gone, another start time or a zombie mean it exited) and can only
// report that it exited, with ExitCode -1. Exit records live in memory, so after a restart
// of cutover the exit codes of instances that ended before it are unknown.
//
// A crash of cutover between launching a process and writing its instance file leaves the
// process running unrecorded; the window is a few milliseconds.
package process

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cutover/cutover/internal/freeport"
	"github.com/cutover/cutover/internal/runtime"
)

// Name is the driver's name in runtime.Instance.Driver.
const Name = "process"

// Options configure a Driver.
type Options struct {
	// StateDir holds the driver's instance records and log files; required. Every Driver
	// over the same StateDir sees the same instances, so one cutover uses one StateDir per
	// driver, and a restarted cutover passes the same one to re-adopt its instances.
	StateDir string
	// Logger receives the driver's events; nil discards them.
	Logger *slog.Logger
}

// Driver runs instances as local processes. It is safe for concurrent use.
type Driver struct {
	stateDir string
	log      *slog.Logger
	bootID   string

	fileMu sync.Mutex // serialises the read-compare-remove of forget

	mu       sync.Mutex
	records  map[string]*record // by instance ID: own children, and instances it stopped
	starting map[string]int     // instance ID → port, while Start runs
}

var _ runtime.Driver = (*Driver)(nil)

// New returns a Driver over opts.StateDir, creating the directory if needed.
func New(opts Options) (*Driver, error) {
	if opts.StateDir == "" {
		return nil, errors.New("process: new driver: StateDir is required")
	}
	dir, err := filepath.Abs(opts.StateDir)
	if err != nil {
		return nil, fmt.Errorf("process: new driver: %w", err)
	}
	if err := prepareStateDir(dir); err != nil {
		return nil, fmt.Errorf("process: new driver: prepare state dir %s: %w", dir, err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Driver{
		stateDir: dir,
		log:      log,
		bootID:   readBootID(),
		records:  map[string]*record{},
		starting: map[string]int{},
	}, nil
}

// Start launches spec.Argv as described in the package comment and returns once the process
// exists. ctx bounds the launch only: the instance is not killed when ctx ends later.
func (d *Driver) Start(ctx context.Context, spec runtime.InstanceSpec) (runtime.Instance, error) {
	if err := validateSpec(spec); err != nil {
		return runtime.Instance{}, fmt.Errorf("process: start %s: invalid spec: %w", spec.ID, err)
	}
	if err := ctx.Err(); err != nil {
		return runtime.Instance{}, fmt.Errorf("process: start %s: %w", spec.ID, err)
	}
	port, err := d.reserve(spec.ID)
	if err != nil {
		return runtime.Instance{}, fmt.Errorf("process: start %s: %w", spec.ID, err)
	}
	defer d.release(spec.ID)

	in, cmd, err := d.launch(spec, port)
	if err != nil {
		return runtime.Instance{}, fmt.Errorf("process: start %s: %w", spec.ID, err)
	}
	h, _ := decodeHandle(in)
	r := &record{h: h, own: true, done: make(chan struct{})}
	d.mu.Lock()
	d.records[spec.ID] = r
	d.mu.Unlock()
	go d.wait(spec.ID, cmd, r)
	d.log.Info("process: started instance", "instance", spec.ID, "app", spec.App, "release", spec.Release,
		"pid", h.PID, "addr", in.Addr)
	return in, nil
}

func validateSpec(spec runtime.InstanceSpec) error {
	errs := []error{spec.Validate()}
	if len(spec.Argv) == 0 || spec.Argv[0] == "" {
		errs = append(errs, errors.New("argv: must name a program"))
	}
	for _, k := range slices.Sorted(maps.Keys(spec.Env)) {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(spec.Env[k], 0) {
			errs = append(errs, fmt.Errorf("env[%q]: names must be non-empty without '=' or NUL, values without NUL", k))
		}
	}
	return errors.Join(errs...)
}

// reserve checks that no instance spec.ID runs or is starting, and picks its port.
func (d *Driver) reserve(id string) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.starting[id]; ok {
		return 0, fmt.Errorf("instance %s is already being started", id)
	}
	if r := d.records[id]; r != nil && !r.isDone() {
		return 0, fmt.Errorf("instance %s is already running (pid %d)", id, r.h.PID)
	}
	if in, err := d.readInstance(id); err == nil { // perhaps started by another cutover process
		if h, err := decodeHandle(in); err == nil && d.leader(h).state == leaderAlive {
			return 0, fmt.Errorf("instance %s is already running (pid %d)", id, h.PID)
		}
	}
	used := map[int]bool{}
	for _, p := range d.starting {
		used[p] = true
	}
	for _, r := range d.records {
		if !r.isDone() {
			used[r.h.Port] = true
		}
	}
	for range 20 {
		port, err := freePort()
		if err != nil {
			return 0, fmt.Errorf("pick a port: %w", err)
		}
		if !used[port] {
			d.starting[id] = port
			return port, nil
		}
	}
	return 0, errors.New("pick a port: the kernel keeps offering ports in use by other instances")
}

func (d *Driver) release(id string) {
	d.mu.Lock()
	delete(d.starting, id)
	d.mu.Unlock()
}

func freePort() (int, error) { return freeport.Loopback() }

// launch starts the process and records it in its instance file. On error nothing of the
// process is left running.
func (d *Driver) launch(spec runtime.InstanceSpec, port int) (runtime.Instance, *exec.Cmd, error) {
	logPath := d.logPath(spec.ID)
	lf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, fileMode)
	if err != nil {
		return runtime.Instance{}, nil, fmt.Errorf("open log: %w", err)
	}
	if err := lf.Chmod(fileMode); err != nil { // an older file may have other permissions
		lf.Close()
		return runtime.Instance{}, nil, fmt.Errorf("open log: %w", err)
	}
	argv := expandArgv(spec, port)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = spec.Dir
	cmd.Env = environ(os.Environ(), spec, port, d.stateDir)
	cmd.Stdout = lf // an *os.File is handed to the child as is: no copying goroutine,
	cmd.Stderr = lf // and the child keeps writing after cutover exits
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	startedAt := time.Now()
	err = cmd.Start()
	lf.Close()
	if err != nil {
		return runtime.Instance{}, nil, err
	}
	pid := cmd.Process.Pid
	abort := func(err error) (runtime.Instance, *exec.Cmd, error) {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = cmd.Wait()
		return runtime.Instance{}, nil, err
	}
	st, err := readStat(pid) // not waited for yet, so it exists, as a zombie at worst
	if err != nil {
		return abort(fmt.Errorf("read start time: %w", err))
	}
	h := handle{PID: pid, PGID: pid, Port: port, Log: logPath, StartTicks: st.StartTicks, BootID: d.bootID}
	in := runtime.Instance{
		ID:        spec.ID,
		App:       spec.App,
		Release:   spec.Release,
		Addr:      net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Driver:    Name,
		Handle:    mustJSON(h),
		StartedAt: startedAt,
	}
	if err := d.writeInstance(in); err != nil {
		return abort(fmt.Errorf("record instance: %w", err))
	}
	return in, cmd, nil
}

// environ returns base with spec.Env and then the runtime.Env* variables applied, each
// replacing an earlier entry of the same name.
func environ(base []string, spec runtime.InstanceSpec, port int, stateDir string) []string {
	vals := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vals[k]; !ok {
			order = append(order, k)
		}
		vals[k] = v
	}
	for _, kv := range base {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			set(k, v)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(spec.Env)) {
		set(k, spec.Env[k])
	}
	set(runtime.EnvPort, strconv.Itoa(port))
	set(runtime.EnvApp, spec.App)
	set(runtime.EnvVersion, spec.Release)
	set(runtime.EnvInstance, spec.ID)
	set(EnvStateDir, stateDir)
	env := make([]string, len(order))
	for i, k := range order {
		env[i] = k + "=" + vals[k]
	}
	return env
}

// expandArgv replaces $PORT, ${PORT} and the other variables cutover sets, and those of
// spec.Env, in the arguments (the program itself included), so a command can say
// ["./web", "--port", "$PORT"] without a shell. Any other $NAME is left as written.
func expandArgv(spec runtime.InstanceSpec, port int) []string {
	vars := map[string]string{
		runtime.EnvPort: strconv.Itoa(port), runtime.EnvApp: spec.App,
		runtime.EnvVersion: spec.Release, runtime.EnvInstance: spec.ID,
	}
	out := make([]string, len(spec.Argv))
	for i, a := range spec.Argv {
		out[i] = os.Expand(a, func(name string) string {
			if v, ok := vars[name]; ok {
				return v
			}
			if v, ok := spec.Env[name]; ok {
				return v
			}
			return "$" + name
		})
	}
	return out
}
