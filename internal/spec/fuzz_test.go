package spec

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"testing"
)

// FuzzParse: Parse never panics; it fails only with an *Error that has problems, each with a
// message; and what it accepts survives Marshal and Parse unchanged. The seed corpus is
// testdata/fuzz/FuzzParse plus every golden input.
func FuzzParse(f *testing.F) {
	for _, in := range goldenInputs(f) {
		data, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	// Aliases, merge keys and nesting: the shapes that amplify a small file.
	f.Add([]byte(unknownFieldBomb(20, 20)))
	f.Add([]byte("app: web\nb: &b {k: v, x: [1, 2]}\nroutes: [*b, *b, {<<: *b, listen: 127.0.0.1:1}]\nrun: {process: {command: [x]}}\n"))
	f.Add([]byte("app: &a [*a]\n"))
	f.Add([]byte("app: web\nx: [[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Parse(bytes.NewReader(data))
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || len(e.Problems) == 0 {
				t.Fatalf("Parse failed with %T %v, want an *Error with problems", err, err)
			}
			if len(e.Problems) > MaxProblems+1 {
				t.Fatalf("%d problems, want at most %d and a count of the rest", len(e.Problems), MaxProblems+1)
			}
			for _, p := range e.Problems {
				if p.Message == "" {
					t.Fatalf("problem without a message: %+v", p)
				}
			}
			return
		}
		out, err := a.Marshal()
		if err != nil {
			t.Fatalf("Marshal of an accepted spec: %v", err)
		}
		b, err := Parse(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("Parse(Marshal()) failed: %v\ninput:\n%s\nmarshalled:\n%s", err, data, out)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("Parse(Marshal()) differs\nbefore: %#v\nafter:  %#v\nmarshalled:\n%s", a, b, out)
		}
	})
}
