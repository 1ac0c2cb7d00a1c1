package router

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// SaveTable writes t to path crash-safely: a temporary file in the same directory is written,
// synced and renamed over path, and the directory is synced, so after a crash path holds
// either the old table or the new one, whole.
func SaveTable(path string, t Table) error {
	data, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return fmt.Errorf("save routing table: %w", err)
	}
	return writeFileAtomic(path, append(data, '\n'), 0o600)
}

// LoadTable reads a table saved by SaveTable (or written by hand), rejecting unknown fields,
// and validates it. A missing file reports an error satisfying errors.Is(err, fs.ErrNotExist).
func LoadTable(path string) (Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return Table{}, fmt.Errorf("load routing table: %w", err)
	}
	defer f.Close()
	t, err := DecodeTable(f)
	if err != nil {
		return Table{}, fmt.Errorf("load routing table %s: %w", path, err)
	}
	return t, nil
}

// DecodeTable parses a JSON table, rejecting unknown fields and trailing data, and validates it.
func DecodeTable(r io.Reader) (Table, error) {
	dec := json.NewDecoder(io.LimitReader(r, 64<<20))
	dec.DisallowUnknownFields()
	var t Table
	if err := dec.Decode(&t); err != nil {
		return Table{}, fmt.Errorf("parse JSON: %w", err)
	}
	if dec.More() {
		return Table{}, errors.New("parse JSON: unexpected data after the table")
	}
	if err := t.Validate(); err != nil {
		return Table{}, err
	}
	return t, nil
}

func writeFileAtomic(path string, data []byte, perm fs.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			_ = os.Remove(name)
		}
	}()
	if _, err := io.Copy(tmp, bytes.NewReader(data)); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", name, err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
