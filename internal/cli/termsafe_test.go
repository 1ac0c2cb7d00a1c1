package cli

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSafe(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain text, ünïcödé and emoji 🚀", "plain text, ünïcödé and emoji 🚀"},
		{"two\nlines\tand a tab", "two\nlines\tand a tab"},
		{"\x1b[2J\x1b]0;pwned\x07", `\x1b[2J\x1b]0;pwned\x07`},
		{"progress 10%\rprogress 99%", `progress 10%\x0dprogress 99%`},
		{"back\bspace and DEL\x7f", `back\x08space and DEL\x7f`},
		{"nul\x00byte", `nul\x00byte`},
		{"C1 CSI \u009b2J and OSC \u009d0;t\u009c", `C1 CSI \u009b2J and OSC \u009d0;t\u009c`},
		{"bad \xff\xfe utf-8 \xe2\x82", `bad \xff\xfe utf-8 \xe2\x82`},
		{"bidi \u202egnp.exe\u202c and \u2066iso\u2069", `bidi \u202egnp.exe\u202c and \u2066iso\u2069`},
		{"sep\u2028line", `sep\u2028line`},
		{`a literal \x1b stays`, `a literal \x1b stays`},
	}
	for _, tc := range tests {
		if got := safe(tc.in); got != tc.want {
			t.Errorf("safe(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzSafe: whatever the input, the output is valid UTF-8 without a byte a terminal acts on
// (beyond newline and tab), safe is idempotent, and printable input comes back unchanged.
func FuzzSafe(f *testing.F) {
	for _, s := range []string{"", "hello\n", "\x1b[2J\x1b]0;pwned\x07", "\xff\u009b\u202e", "ok\tok\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := safe(in)
		if !utf8.ValidString(out) {
			t.Fatalf("safe(%q) = %q: not UTF-8", in, out)
		}
		for _, r := range out {
			if (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r <= 0x9f) || unsafeRune(r) {
				t.Fatalf("safe(%q) = %q keeps %U", in, out, r)
			}
		}
		if again := safe(out); again != out {
			t.Fatalf("safe is not idempotent: %q then %q", out, again)
		}
		if firstUnsafe(in) < 0 && out != in {
			t.Fatalf("safe changed printable %q to %q", in, out)
		}
		if strings.Count(out, "\n") != strings.Count(in, "\n") {
			t.Fatalf("safe changed the lines of %q: %q", in, out)
		}
	})
}
