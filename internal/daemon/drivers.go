package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cutover/cutover/internal/runtime"
	"github.com/cutover/cutover/internal/runtime/docker"
	"github.com/cutover/cutover/internal/runtime/process"
)

// OwnerFile holds, in the data dir, the random ID that marks the containers this server owns
// (the docker driver's owner label). It is generated at first start and never changes, so a
// restarted server re-adopts its containers and never touches anyone else's.
const OwnerFile = "owner-id"

// runtimeDrivers builds the runtime drivers by the spec's runtime names. The docker driver
// costs nothing until an app uses it (docker.New does not contact the engine), so a server
// without Docker starts fine; one that cannot even be built (a malformed DOCKER_HOST) is
// replaced by a driver that answers every call with that error, so applying a docker app
// says why it cannot run. closeAll releases the drivers' connections; instances keep running.
func runtimeDrivers(cfg Config, log *slog.Logger) (drivers map[string]runtime.Driver, closeAll func(), err error) {
	proc, err := process.New(process.Options{StateDir: filepath.Join(cfg.DataDir, "instances"), Logger: log})
	if err != nil {
		return nil, nil, err
	}
	owner, err := ensureOwnerID(cfg.DataDir)
	if err != nil {
		return nil, nil, err
	}
	drivers = map[string]runtime.Driver{process.Name: proc}
	closeAll = func() {}
	dock, err := docker.New(docker.Options{Host: cfg.DockerHost, Owner: owner, Logger: log})
	if err != nil {
		log.Warn("the docker runtime is unavailable; apps with run.docker will be refused", "err", err)
		drivers[docker.Name] = unavailable{err: fmt.Errorf("%w; fix --docker-host or DOCKER_HOST and restart the server", err)}
	} else {
		drivers[docker.Name] = dock
		closeAll = func() { _ = dock.Close() }
	}
	return drivers, closeAll, nil
}

// ensureOwnerID returns the owner ID kept in dir/OwnerFile, generating it (16 random bytes,
// hex) on first start, written to a temporary name and renamed.
func ensureOwnerID(dir string) (string, error) {
	path := filepath.Join(dir, OwnerFile)
	data, err := os.ReadFile(path)
	if err == nil {
		id := strings.TrimSpace(string(data))
		if id == "" {
			return "", fmt.Errorf("owner ID file %s is empty; restore it from a backup (containers this server started carry the old ID), or delete it to start afresh", path)
		}
		return id, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read owner ID file %s: %w", path, err)
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate the owner ID: %w", err)
	}
	id := hex.EncodeToString(b)
	if err := writeFileAtomic(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write owner ID file %s: %w", path, err)
	}
	return id, nil
}

// unavailable is a driver that could not be built: every call answers why.
type unavailable struct{ err error }

var _ runtime.Driver = unavailable{}

func (u unavailable) Start(context.Context, runtime.InstanceSpec) (runtime.Instance, error) {
	return runtime.Instance{}, u.err
}
func (u unavailable) Stop(context.Context, runtime.Instance, time.Duration) error { return u.err }
func (u unavailable) Status(context.Context, runtime.Instance) (runtime.Status, error) {
	return runtime.Status{}, u.err
}
func (u unavailable) List(context.Context) ([]runtime.Instance, error) { return nil, u.err }
func (u unavailable) Logs(context.Context, runtime.Instance, int) ([]string, error) {
	return nil, u.err
}
func (u unavailable) Ping(context.Context) error { return u.err }
