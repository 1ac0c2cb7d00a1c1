package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Run is one pipeline run of an app: a commit taken through build, tests and deploy. Its
// State is the pipeline's, opaque here; the store keeps the order of runs per app and
// refuses to change a run once it is Done.
type Run struct {
	ID        string // assigned by the store: "<app>-run-<seq>", e.g. "web-run-3"
	App       string
	Seq       int  // per-app sequence, assigned by the store: 1, 2, 3...
	Done      bool // once true, the run is frozen
	CreatedAt time.Time
	UpdatedAt time.Time
	State     json.RawMessage // the pipeline's state, opaque
}

type runRecord struct {
	ID        string          `json:"id"`
	App       string          `json:"app"`
	Seq       int             `json:"seq"`
	Done      bool            `json:"done"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
	State     json.RawMessage `json:"state,omitempty"`
}

// CreateRun records a new run of r.App, assigning its Seq, ID and times.
func (s *Store) CreateRun(run Run) (Run, error) {
	if run.App == "" {
		return Run{}, errors.New("create pipeline run: no app; say which app it builds")
	}
	if err := checkJSON("the run's state", run.State); err != nil {
		return Run{}, fmt.Errorf("create pipeline run of app %q: %w", run.App, err)
	}
	now := s.now()
	run.CreatedAt, run.UpdatedAt = now, now
	err := s.update(func(r roots) error {
		if err := r.requireApp(run.App); err != nil {
			return err
		}
		b, err := r.runs.CreateBucketIfNotExists([]byte(run.App))
		if err != nil {
			return err
		}
		n, err := b.NextSequence()
		if err != nil {
			return err
		}
		run.Seq, run.ID = int(n), run.App+"-run-"+strconv.FormatUint(n, 10)
		return putJSON(b, u64(n), runRecord(run))
	})
	if err != nil {
		return Run{}, fmt.Errorf("create pipeline run of app %q: %w", run.App, err)
	}
	return run, nil
}

// UpdateRun replaces the state of a run that is not Done; done freezes it.
func (s *Store) UpdateRun(id string, state json.RawMessage, done bool) (Run, error) {
	app, seq, err := parseRunID(id)
	if err != nil {
		return Run{}, err
	}
	if err := checkJSON("the run's state", state); err != nil {
		return Run{}, fmt.Errorf("update pipeline run %s: %w", id, err)
	}
	var out Run
	err = s.update(func(r roots) error {
		b := r.runs.Bucket([]byte(app))
		var rec runRecord
		if ok, err := getJSON(b, u64(seq), &rec); err != nil {
			return err
		} else if !ok {
			return ErrNotFound
		}
		if rec.Done {
			return fmt.Errorf("%w: the run has ended and is kept as it ended", ErrConflict)
		}
		rec.State, rec.Done, rec.UpdatedAt = state, done, s.now()
		out = Run(rec)
		return putJSON(b, u64(seq), rec)
	})
	if err != nil {
		return Run{}, fmt.Errorf("update pipeline run %s: %w", id, err)
	}
	return out, nil
}

// GetRun returns the run with id.
func (s *Store) GetRun(id string) (Run, error) {
	app, seq, err := parseRunID(id)
	if err != nil {
		return Run{}, err
	}
	var rec runRecord
	err = s.view(func(r roots) error {
		ok, err := getJSON(r.runs.Bucket([]byte(app)), u64(seq), &rec)
		if err == nil && !ok {
			err = ErrNotFound
		}
		return err
	})
	if err != nil {
		return Run{}, fmt.Errorf("pipeline run %s: %w", id, err)
	}
	return Run(rec), nil
}

// ListRuns returns app's runs, newest first, at most limit of them (0: all).
func (s *Store) ListRuns(app string, limit int) ([]Run, error) {
	var out []Run
	err := s.view(func(r roots) error {
		b := r.runs.Bucket([]byte(app))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
			var rec runRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode run %d of %s: %w; the state file is damaged, restore a backup", binary.BigEndian.Uint64(k), app, err)
			}
			out = append(out, Run(rec))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list pipeline runs of %q: %w", app, err)
	}
	return out, nil
}

// OpenRuns returns every run of every app that is not Done, oldest first per app.
func (s *Store) OpenRuns() ([]Run, error) {
	var out []Run
	err := s.view(func(r roots) error {
		return r.runs.ForEachBucket(func(app []byte) error {
			return r.runs.Bucket(app).ForEach(func(_, v []byte) error {
				var rec runRecord
				if err := json.Unmarshal(v, &rec); err != nil {
					return fmt.Errorf("decode a run of %s: %w; the state file is damaged, restore a backup", app, err)
				}
				if !rec.Done {
					out = append(out, Run(rec))
				}
				return nil
			})
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list open pipeline runs: %w", err)
	}
	return out, nil
}

// parseRunID splits "web-run-3" into web and 3.
func parseRunID(id string) (string, uint64, error) {
	i := strings.LastIndex(id, "-run-")
	if i > 0 {
		if n, err := strconv.ParseUint(id[i+len("-run-"):], 10, 63); err == nil && n > 0 {
			return id[:i], n, nil
		}
	}
	return "", 0, fmt.Errorf("pipeline run %q: %w; run IDs look like web-run-3 (see cutover pipeline history APP)", id, ErrNotFound)
}
