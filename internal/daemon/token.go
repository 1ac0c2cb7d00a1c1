package daemon

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/cutover/cutover/internal/api"
)

// The names of the API tokens' files inside the data dir: the admin token, which may call
// every route, and the read-only token, which may only read and follow events.
const (
	TokenFile         = api.TokenFile
	ReadOnlyTokenFile = api.ReadOnlyTokenFile
)

// tokens are the API's bearer tokens.
type tokens struct {
	admin, readOnly string
}

// ensureTokens returns both tokens kept in dir, generating each one missing.
func ensureTokens(dir string) (tokens, error) {
	admin, err := ensureToken(dir, TokenFile)
	if err != nil {
		return tokens{}, err
	}
	readOnly, err := ensureToken(dir, ReadOnlyTokenFile)
	if err != nil {
		return tokens{}, err
	}
	if admin == readOnly {
		return tokens{}, fmt.Errorf("%s and %s in %s hold the same token, which would make every viewer an admin: delete %s and a new one is generated",
			TokenFile, ReadOnlyTokenFile, dir, ReadOnlyTokenFile)
	}
	return tokens{admin: admin, readOnly: readOnly}, nil
}

// ensureToken returns the token kept in dir/name, generating it (32 random bytes, hex) on
// first start. The file is written to a temporary name and renamed, so a crash never leaves
// a half-written token.
func ensureToken(dir, name string) (string, error) {
	path := filepath.Join(dir, name)
	data, err := os.ReadFile(path)
	if err == nil {
		tok := strings.TrimSpace(string(data))
		if tok == "" {
			return "", fmt.Errorf("token file %s is empty: delete it and a new token is generated", path)
		}
		if err := os.Chmod(path, 0o600); err != nil {
			return "", fmt.Errorf("restrict token file %s: %w", path, err)
		}
		return tok, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read token file %s: %w", path, err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	tok := hex.EncodeToString(b)
	if err := writeFileAtomic(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write token file %s: %w", path, err)
	}
	return tok, nil
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // a no-op after the rename
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
