package hooks

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTailBuffer(t *testing.T) {
	tests := []struct {
		desc   string
		writes []string
		want   string
	}{
		{desc: "under the limit", writes: []string{"ab", "cd"}, want: "abcd"},
		{desc: "exactly the limit", writes: []string{strings.Repeat("a", 64)}, want: strings.Repeat("a", 64)},
		{desc: "many small writes", writes: strings.Split(strings.Repeat("0123456789", 20), ""),
			want: truncatedMarker + strings.Repeat("0123456789", 20)[200-(64-len(truncatedMarker)):]},
		{desc: "one big write", writes: []string{strings.Repeat("x", 200) + "tail"},
			want: truncatedMarker + strings.Repeat("x", 64-len(truncatedMarker)-4) + "tail"},
		{desc: "cut inside a character", writes: []string{strings.Repeat("é", 100)},
			want: truncatedMarker + strings.Repeat("é", (64-len(truncatedMarker))/2)},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			b := newTailBuffer(64)
			for _, w := range tt.writes {
				if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", w, n, err)
				}
			}
			got := b.String()
			if got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if len(got) > 64 || !utf8.ValidString(got) {
				t.Errorf("String() is %d bytes, valid UTF-8 %v; want at most 64, valid", len(got), utf8.ValidString(got))
			}
		})
	}
}

func TestExcerpt(t *testing.T) {
	if got := excerpt([]byte("short"), 64); got != "short" {
		t.Errorf("excerpt(short) = %q", got)
	}
	long := strings.Repeat("a", 100) + "end"
	if got := excerpt([]byte(long), 64); len(got) > 64 || !strings.HasPrefix(got, truncatedMarker) || !strings.HasSuffix(got, "aend") {
		t.Errorf("excerpt(long) = %q; want the marker and the tail within 64 bytes", got)
	}
}
