package spec

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// unknownFieldBomb is a spec whose anchor holds keys unknown fields and is referenced refs times:
// len(out) grows with keys+refs, its expansion with keys*refs.
func unknownFieldBomb(keys, refs int) string {
	var b strings.Builder
	b.WriteString("app: web\nx: &h\n")
	for i := range keys {
		fmt.Fprintf(&b, "  k%d: v\n", i)
	}
	b.WriteString("routes: [")
	for i := range refs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("*h")
	}
	b.WriteString("]\nrun: {process: {command: [x]}}\n")
	return b.String()
}

func parseProblems(t *testing.T, in string) []Problem {
	t.Helper()
	_, err := Parse(strings.NewReader(in))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Parse: %v, want an *Error", err)
	}
	return e.Problems
}

// Before the shape check, a 4 KB bomb (300 keys, 300 references) gave 90,600 problems and
// an 8 MB message; the server that rendered a 45 KB one ran out of memory.
func TestAliasBombIsRefusedWithOneProblem(t *testing.T) {
	in := unknownFieldBomb(2500, 2500)
	if len(in) < 10_000 {
		t.Fatalf("bomb of %d bytes, want a bigger one", len(in))
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ps := parseProblems(t, in)
	runtime.ReadMemStats(&after)
	if len(ps) != 1 || !strings.Contains(ps[0].Message, "aliases") {
		t.Fatalf("%d problems (first %+v), want one about aliases", len(ps), ps[0])
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("parsing a %d-byte spec allocated %d MiB", len(in), alloc>>20)
	}
}

func TestDeepNestingIsRefused(t *testing.T) {
	in := "app: web\nx: " + strings.Repeat("[", MaxDepth+5) + strings.Repeat("]", MaxDepth+5) + "\n"
	ps := parseProblems(t, in)
	if len(ps) != 1 || !strings.Contains(ps[0].Message, "levels deep") {
		t.Fatalf("problems %+v, want one about nesting", ps)
	}
}

func TestAliasesWithinTheBoundsStillWork(t *testing.T) {
	in := "app: web\nrun: {process: {command: [x], env: &e {A: \"1\"}}}\nhooks:\n" +
		"  - {name: a, at: after_test_traffic, command: {argv: [true], env: *e}}\n"
	_, err := Parse(strings.NewReader(in))
	var e *Error
	if errors.As(err, &e) {
		for _, p := range e.Problems {
			if strings.Contains(p.Message, "aliases") {
				t.Fatalf("a small aliased spec refused: %v", err)
			}
		}
	}
}

func TestProblemsAreCappedAndCounted(t *testing.T) {
	var b strings.Builder
	b.WriteString("app: web\nrun: {process: {command: [x]}}\n")
	for i := range 300 {
		fmt.Fprintf(&b, "unknown%d: 1\n", i)
	}
	ps := parseProblems(t, b.String())
	if len(ps) != MaxProblems+1 {
		t.Fatalf("%d problems, want %d and a count of the rest", len(ps), MaxProblems+1)
	}
	// 300 unknown fields and the missing routes: 301 in all.
	if last := ps[len(ps)-1].Message; last != "and 201 more problems (fix these first)" {
		t.Errorf("last problem %q", last)
	}
}
