package spec

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden and the generated part of docs/spec.md")

// goldenInputs returns the testdata/*.yaml specs, all valid.
func goldenInputs(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.yaml: %v", err)
	}
	return files
}

func parseFile(t testing.TB, file string) *App {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := Parse(f)
	if err != nil {
		t.Fatalf("Parse(%s): %v", file, err)
	}
	return a
}

// TestGolden checks defaulting: each testdata/NAME.yaml, parsed and marshalled, must equal
// testdata/NAME.golden. Run with -update to rewrite the golden files after a deliberate change.
func TestGolden(t *testing.T) {
	for _, in := range goldenInputs(t) {
		name := strings.TrimSuffix(filepath.Base(in), ".yaml")
		t.Run(name, func(t *testing.T) {
			got, err := parseFile(t, in).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(in, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("defaulted %s differs from %s (run go test -update if the change is deliberate)\ngot:\n%s\nwant:\n%s", in, golden, got, want)
			}
		})
	}
}

// TestRoundTrip: Parse(Marshal(x)) equals x, and the golden output is already a fixed point
// of Default.
func TestRoundTrip(t *testing.T) {
	for _, in := range goldenInputs(t) {
		t.Run(filepath.Base(in), func(t *testing.T) {
			a := parseFile(t, in)
			out, err := a.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			b, err := Parse(bytes.NewReader(out))
			if err != nil {
				t.Fatalf("Parse(Marshal()): %v\n%s", err, out)
			}
			if !reflect.DeepEqual(a, b) {
				t.Errorf("round trip changed the spec:\nbefore: %#v\nafter:  %#v", a, b)
			}
			c := *b
			c.Default()
			if !reflect.DeepEqual(&c, b) {
				t.Errorf("Default is not idempotent")
			}
		})
	}
}
