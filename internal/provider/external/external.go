// Package external is provider.GroupDriver for releases cutover does not start (a spec's
// run.external): a release is an endpoint someone else runs, an IP address or a host name.
// "Ensure" records which slot the release is in, Observe checks its health over HTTP, Scale
// does nothing and Retire only forgets it: cutover never stops what it did not start.
//
// The slots are kept in a small JSON file per app under Dir (written whole, then renamed), so
// that a restarted server finds them again (List). It must not know the engine, deployments
// or DNS.
package external

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/cutover/cutover/internal/provider"
)

// Driver runs the external releases of one app.
type Driver struct {
	Dir        string       // where the app's slots are kept
	App        string       // the app
	HealthPath string       // checked at http://ENDPOINT:HealthPort + HealthPath
	HealthPort int          // 0 is 80
	Client     *http.Client // nil is a client with a 5 s timeout

	mu sync.Mutex
}

var _ provider.GroupDriver = (*Driver)(nil)

// record is one release as the file keeps it.
type record struct {
	Version  string        `json:"version"`
	Slot     provider.Slot `json:"slot"`
	Endpoint string        `json:"endpoint"`
	Count    int           `json:"count"`
}

func (d *Driver) file() string { return filepath.Join(d.Dir, "external-"+d.App+".json") }

func (d *Driver) load() ([]record, error) {
	b, err := os.ReadFile(d.file())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the external releases of %s: %w", d.App, err)
	}
	var rs []record
	if err := json.Unmarshal(b, &rs); err != nil {
		return nil, fmt.Errorf("read the external releases of %s from %s: %w (remove the file to start over)", d.App, d.file(), err)
	}
	return rs, nil
}

func (d *Driver) save(rs []record) error {
	b, err := json.Marshal(rs)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(d.Dir, 0o700); err != nil {
		return fmt.Errorf("keep the external releases of %s: %w", d.App, err)
	}
	tmp := d.file() + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("keep the external releases of %s: %w", d.App, err)
	}
	return os.Rename(tmp, d.file())
}

func (d *Driver) group(r record) provider.Group {
	return provider.Group{App: d.App, Version: r.Version, Slot: r.Slot, Ref: d.App + "/" + r.Version,
		Backend: provider.Backend{Kind: "dns", Ref: r.Endpoint, Version: r.Version}}
}

// EnsureRelease records r (its Image is the endpoint) in its slot.
func (d *Driver) EnsureRelease(_ context.Context, r provider.Release, count int) (provider.Group, error) {
	if r.App != d.App || r.Image == "" || !r.Slot.Valid() {
		return provider.Group{}, fmt.Errorf("external release %s of %s at %q in slot %q: %w", r.Version, r.App, r.Image, r.Slot, provider.ErrInvalid)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	rs, err := d.load()
	if err != nil {
		return provider.Group{}, err
	}
	rec := record{Version: r.Version, Slot: r.Slot, Endpoint: r.Image, Count: max(count, 1)}
	kept := []record{rec}
	for _, o := range rs {
		if o.Version != r.Version {
			kept = append(kept, o)
		}
	}
	if err := d.save(kept); err != nil {
		return provider.Group{}, err
	}
	return d.group(rec), nil
}

// Scale records the count the release is taken to run; its real size is not cutover's to
// change.
func (d *Driver) Scale(_ context.Context, g provider.Group, count int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	rs, err := d.load()
	if err != nil {
		return err
	}
	for i := range rs {
		if rs[i].Version == g.Version {
			rs[i].Count = max(count, 1)
		}
	}
	return d.save(rs)
}

// Observe checks the release's health: every one of its count is healthy when its endpoint
// answers health with a 2xx or 3xx, none when it does not (with the reason).
func (d *Driver) Observe(ctx context.Context, g provider.Group) (provider.GroupStatus, error) {
	d.mu.Lock()
	rs, err := d.load()
	d.mu.Unlock()
	if err != nil {
		return provider.GroupStatus{}, err
	}
	var rec *record
	for i := range rs {
		if rs[i].Version == g.Version {
			rec = &rs[i]
		}
	}
	if rec == nil {
		return provider.GroupStatus{}, fmt.Errorf("external release %s of %s: %w", g.Version, d.App, provider.ErrNotFound)
	}
	st := provider.GroupStatus{Desired: rec.Count, Running: rec.Count}
	if why := d.probe(ctx, rec.Endpoint); why != "" {
		st.Failures = []string{why}
		return st, nil
	}
	st.Healthy, st.Stable = rec.Count, true
	return st, nil
}

func (d *Driver) probe(ctx context.Context, endpoint string) string {
	port := d.HealthPort
	if port == 0 {
		port = 80
	}
	url := "http://" + net.JoinHostPort(endpoint, strconv.Itoa(port)) + d.HealthPath
	hc := d.Client
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Second}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err.Error()
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Sprintf("health check GET %s: %v", url, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Sprintf("health check GET %s: %s", url, resp.Status)
	}
	return ""
}

// Retire forgets the release; what runs there is left running.
func (d *Driver) Retire(_ context.Context, g provider.Group) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	rs, err := d.load()
	if err != nil {
		return err
	}
	kept := rs[:0]
	for _, r := range rs {
		if r.Version != g.Version {
			kept = append(kept, r)
		}
	}
	return d.save(kept)
}

// List returns the releases recorded for app.
func (d *Driver) List(_ context.Context, app string) ([]provider.Group, error) {
	if app != d.App {
		return nil, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	rs, err := d.load()
	if err != nil {
		return nil, err
	}
	out := make([]provider.Group, 0, len(rs))
	for _, r := range rs {
		out = append(out, d.group(r))
	}
	return out, nil
}
