// Package dnsserver is cutover's own DNS server, for weighted DNS cutovers without Route
// 53 (traffic.dns, `cutover server --dns ADDR`). It answers A, AAAA and CNAME queries for
// the names apps claim, over UDP and TCP, with github.com/miekg/dns doing the wire format:
// a malformed query gets FORMERR, an opcode other than QUERY NOTIMP, a name no app claims
// REFUSED.
//
// Answers are weighted per client: a client's source address falls in one of 10,000
// buckets (a hash, so clients spread evenly), and the buckets below the green share are
// answered with green's endpoint. One client always gets the same answer at a weight, and
// raising the weight moves only the clients whose bucket it crosses.
//
// A Table holds the records, one per app, and keeps each in a file under its directory,
// so a restarted server answers as before even ahead of the engine. Provider is one app's
// provider.TrafficProvider over a Table: a written weight counts as effective one TTL
// after the write, when every answer cached before it has expired.
//
// It must not know deployments, the engine or the spec.
package dnsserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cutover/cutover/internal/provider"
)

// Record is what the server answers for one app's name.
type Record struct {
	App  string `json:"app"`
	Name string `json:"name"` // lower case, fully qualified (with the trailing dot)
	TTL  uint32 `json:"ttl"`  // seconds
	// Blue and Green are the slots' endpoints: an IP address or a host name; "" unbound.
	Blue    string    `json:"blue,omitempty"`
	Green   string    `json:"green,omitempty"`
	GreenBP int       `json:"green_bp"`            // green's share of clients, 0..provider.MaxBP
	Written time.Time `json:"written_at,omitzero"` // when GreenBP was written; zero before the first write
}

// Table is the records of every app, read without locks by the server and written by the
// apps' providers. Every write reaches its file before it is answered.
type Table struct {
	dir    string
	mu     sync.Mutex                        // serialises writers
	byApp  map[string]Record                 // guarded by mu
	byName atomic.Pointer[map[string]Record] // copy on write, for Lookup
}

// Open reads the records kept in dir (created if missing).
func Open(dir string) (*Table, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("dns: create %s: %w", dir, err)
	}
	t := &Table{dir: dir, byApp: map[string]Record{}}
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("dns: list %s: %w", dir, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("dns: read %s: %w", f, err)
		}
		var r Record
		if err := json.Unmarshal(b, &r); err != nil || r.App == "" || r.Name == "" {
			return nil, fmt.Errorf("dns: %s is not a record this server wrote (%v): move it out of %s", f, err, dir)
		}
		t.byApp[r.App] = r
	}
	t.publish()
	return t, nil
}

// Lookup returns the record for name (any case, with or without the trailing dot).
func (t *Table) Lookup(name string) (Record, bool) {
	r, ok := (*t.byName.Load())[fqdn(name)]
	return r, ok
}

// get returns app's record.
func (t *Table) get(app string) (Record, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.byApp[app]
	return r, ok
}

// errClaimed is wrapped when another app answers a name.
var errClaimed = errors.New("claimed by another app")

// update applies f to app's record (the zero Record with App set when it has none), keeps
// the result in its file, then answers it. f's error changes nothing.
func (t *Table) update(app string, f func(r *Record) error) (Record, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.byApp[app]
	if !ok {
		r = Record{App: app}
	}
	if err := f(&r); err != nil {
		return Record{}, err
	}
	for _, o := range t.byApp {
		if o.App != app && o.Name == r.Name {
			return Record{}, fmt.Errorf("%s is answered for app %s: %w", r.Name, o.App, errClaimed)
		}
	}
	if err := t.save(r); err != nil {
		return Record{}, err
	}
	t.byApp[app] = r
	t.publish()
	return r, nil
}

// remove forgets app's record; removing twice is not an error.
func (t *Table) remove(app string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := os.Remove(t.file(app)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("dns: remove the record of %s: %w", app, err)
	}
	delete(t.byApp, app)
	t.publish()
	return nil
}

func (t *Table) file(app string) string { return filepath.Join(t.dir, app+".json") }

// save writes r to its file atomically (a temporary file, synced, renamed over it).
func (t *Table) save(r Record) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("dns: encode the record of %s: %w", r.App, err)
	}
	tmp, err := os.CreateTemp(t.dir, "."+r.App+"-*")
	if err != nil {
		return fmt.Errorf("dns: keep the record of %s: %w", r.App, err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if _, err = tmp.Write(append(b, '\n')); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), t.file(r.App))
	}
	if err != nil {
		return fmt.Errorf("dns: keep the record of %s in %s: %w", r.App, t.dir, err)
	}
	return nil
}

// publish makes the records visible to Lookup; mu is held (or t not yet shared).
func (t *Table) publish() {
	m := make(map[string]Record, len(t.byApp))
	for _, r := range t.byApp {
		if r.Name != "" {
			m[r.Name] = r
		}
	}
	t.byName.Store(&m)
}

// fqdn is name in lower case with the trailing dot.
func fqdn(name string) string {
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

// endpoint returns the value answered for slot.
func (r Record) endpoint(s provider.Slot) string {
	if s == provider.Green {
		return r.Green
	}
	return r.Blue
}

var hostRE = regexp.MustCompile(`^([A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.?$`)
