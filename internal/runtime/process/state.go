package process

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/cutover/cutover/internal/runtime"
)

// handle is the process driver's runtime.Instance.Handle: enough to find the process again
// after cutover restarted, and to tell it from a later process that got the same PID.
type handle struct {
	PID  int `json:"pid"`
	PGID int `json:"pgid"`
	Port int `json:"port"`
	// Log is the absolute path of the file the process appends stdout and stderr to; for
	// operators: Logs derives the path from the ID.
	Log string `json:"log"`
	// StartTicks is field 22 of /proc/<pid>/stat: the start time in clock ticks after boot.
	// A PID whose start time differs is another process that reuses the PID.
	StartTicks uint64 `json:"start_ticks"`
	// BootID is the kernel's boot ID at start; start times from another boot mean nothing.
	BootID string `json:"boot_id,omitempty"`
}

// same reports whether h and o identify the same process.
func (h handle) same(o handle) bool {
	return h.PID == o.PID && h.StartTicks == o.StartTicks && h.BootID == o.BootID
}

func decodeHandle(in runtime.Instance) (handle, error) {
	var h handle
	if err := json.Unmarshal(in.Handle, &h); err != nil {
		return handle{}, fmt.Errorf("process: instance %s: decode handle: %w", in.ID, err)
	}
	if h.PID <= 0 || h.PGID <= 0 {
		return handle{}, fmt.Errorf("process: instance %s: handle has no pid or pgid: %s", in.ID, in.Handle)
	}
	return h, nil
}

// The driver's state directory holds:
//
//	instances/<ID>.json  the runtime.Instance of every instance believed to run (0600)
//	logs/<ID>.log        the combined stdout and stderr of each instance (0600)
//
// Both directories are 0700: logs and environments may hold secrets.
const (
	instancesDir = "instances"
	logsDir      = "logs"
	dirMode      = 0o700
	fileMode     = 0o600
	tmpInfix     = ".tmp-"
)

func (d *Driver) instancePath(id string) string {
	return filepath.Join(d.stateDir, instancesDir, id+".json")
}

func (d *Driver) logPath(id string) string {
	return filepath.Join(d.stateDir, logsDir, id+".log")
}

// prepareStateDir creates the directories with their modes and removes temporary files a
// crash left behind in the middle of an atomic write.
func prepareStateDir(root string) error {
	if err := os.MkdirAll(root, dirMode); err != nil {
		return err
	}
	for _, sub := range []string{instancesDir, logsDir} {
		p := filepath.Join(root, sub)
		if err := os.MkdirAll(p, dirMode); err != nil {
			return err
		}
		if err := os.Chmod(p, dirMode); err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(filepath.Join(root, instancesDir))
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), tmpInfix) {
			_ = os.Remove(filepath.Join(root, instancesDir, e.Name()))
		}
	}
	return nil
}

// writeInstance records in as StateDir/instances/<ID>.json, atomically: a reader sees the
// old file or the new one, never a part, and the new one survives a crash once this returns.
func (d *Driver) writeInstance(in runtime.Instance) error {
	b, err := json.MarshalIndent(in, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(d.instancePath(in.ID), append(b, '\n'))
}

func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+tmpInfix+"*") // mode 0600
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// readInstance reads the recorded instance id; the error wraps fs.ErrNotExist if none is.
func (d *Driver) readInstance(id string) (runtime.Instance, error) {
	b, err := os.ReadFile(d.instancePath(id))
	if err != nil {
		return runtime.Instance{}, err
	}
	var in runtime.Instance
	if err := json.Unmarshal(b, &in); err != nil {
		return runtime.Instance{}, fmt.Errorf("decode %s: %w", d.instancePath(id), err)
	}
	return in, nil
}

// readInstances reads every recorded instance. Unreadable files are logged and skipped, not
// removed: they may be worth a look.
func (d *Driver) readInstances() ([]runtime.Instance, error) {
	entries, err := os.ReadDir(filepath.Join(d.stateDir, instancesDir))
	if err != nil {
		return nil, err
	}
	var out []runtime.Instance
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".json") {
			continue
		}
		in, err := d.readInstance(strings.TrimSuffix(name, ".json"))
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed meanwhile
		}
		if err != nil {
			d.log.Warn("process: skipping unreadable instance file", "file", name, "err", err)
			continue
		}
		out = append(out, in)
	}
	return out, nil
}

// forget removes the recorded instance id if it still records the process h: a file written
// since for a new instance with the same ID stays.
func (d *Driver) forget(id string, h handle) {
	d.fileMu.Lock()
	defer d.fileMu.Unlock()
	in, err := d.readInstance(id)
	if err != nil {
		return
	}
	if cur, err := decodeHandle(in); err == nil && !cur.same(h) {
		return
	}
	if err := os.Remove(d.instancePath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		d.log.Warn("process: cannot remove instance file", "instance", id, "err", err)
	}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs are marshalled
	}
	return b
}
