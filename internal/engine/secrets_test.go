package engine

import (
	"errors"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/spec"
	"github.com/cutover/cutover/internal/store"
)

func testMasker(t *testing.T) spec.Masker {
	t.Helper()
	a, err := spec.Parse(strings.NewReader(`app: web
routes: [{listen: "127.0.0.1:8080"}]
run:
  process: {command: [./web], env: {KEY: hunter22}, secret_env: [KEY]}
`))
	if err != nil {
		t.Fatal(err)
	}
	return spec.NewMasker(a)
}

// TestMaskState: the last guard before a record is saved masks every text in it and
// leaves the runner's own copy alone.
func TestMaskState(t *testing.T) {
	m := testMasker(t)
	s := deploy.State{Reason: "failed: hunter22", Evidence: []string{"errors: ok", "saw hunter22"}}
	evs := []deploy.Event{{Message: "hook passed; output: hunter22"}}
	ms, mevs := maskState(m, s, evs)
	if ms.Reason != "failed: ******" || ms.Evidence[1] != "saw ******" || ms.Evidence[0] != "errors: ok" || mevs[0].Message != "hook passed; output: ******" {
		t.Fatalf("masked: %+v %+v", ms, mevs)
	}
	if s.Reason != "failed: hunter22" || s.Evidence[1] != "saw hunter22" || evs[0].Message != "hook passed; output: hunter22" {
		t.Fatalf("maskState changed its arguments: %+v %+v", s, evs)
	}
}

// TestMaskError: the text is masked, the kind is kept.
func TestMaskError(t *testing.T) {
	m := testMasker(t)
	err := maskError(m, errors.Join(errors.New("exec ./hunter22"), store.ErrConflict))
	if strings.Contains(err.Error(), "hunter22") || !errors.Is(err, store.ErrConflict) {
		t.Fatalf("maskError = %v (is ErrConflict: %v)", err, errors.Is(err, store.ErrConflict))
	}
	plain := errors.New("nothing secret")
	if maskError(m, plain) != plain || maskError(m, nil) != nil {
		t.Fatal("maskError wrapped an error with nothing to mask")
	}
}
