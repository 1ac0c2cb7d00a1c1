package process

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestTailLines(t *testing.T) {
	long := strings.Repeat("x", tailChunk+10) // a line longer than a read step
	for _, tc := range []struct {
		desc    string
		content string
		n       int
		want    []string
	}{
		{"empty file", "", 5, []string{}},
		{"zero lines wanted", "a\nb\n", 0, []string{}},
		{"fewer lines than wanted", "a\nb\n", 5, []string{"a", "b"}},
		{"last lines", "a\nb\nc\nd\n", 2, []string{"c", "d"}},
		{"no final newline", "a\nb\nc", 2, []string{"b", "c"}},
		{"crlf", "a\r\nb\r\n", 5, []string{"a", "b"}},
		{"empty lines count", "a\n\n\nb\n", 3, []string{"", "", "b"}},
		{"only a newline", "\n", 5, []string{""}},
		{"long lines across chunks", "a\n" + long + "\n" + long + "\nz\n", 2, []string{long, "z"}},
		{"long line cut by the chunk", "a\n" + long + "\nz\n", 3, []string{"a", long, "z"}},
	} {
		path := filepath.Join(t.TempDir(), "log")
		if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := tailLines(path, tc.n)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: tailLines(%d) = %.80q, %v; want %.80q", tc.desc, tc.n, got, err, tc.want)
		}
	}
}

func TestTailLinesBigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	const total = 60000 // about 700 KB: a dozen read steps
	var b []byte
	for i := range total {
		b = strconv.AppendInt(append(b, "line "...), int64(i), 10)
		b = append(b, '\n')
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 10, 50000, total, total + 5} {
		got, err := tailLines(path, n)
		if err != nil {
			t.Fatal(err)
		}
		want := min(n, total)
		if len(got) != want || got[0] != fmt.Sprintf("line %d", total-want) || got[len(got)-1] != fmt.Sprintf("line %d", total-1) {
			t.Errorf("tailLines(%d): %d lines from %q to %q", n, len(got), got[0], got[len(got)-1])
		}
	}
}

func TestTailLinesMissing(t *testing.T) {
	if _, err := tailLines(filepath.Join(t.TempDir(), "nope"), 3); !os.IsNotExist(err) {
		t.Errorf("tailLines of a missing file: %v, want not-exist", err)
	}
}
