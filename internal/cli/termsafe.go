package cli

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// safe returns s as it may be printed to a terminal: control characters that a terminal would
// act on are written out as visible escapes instead. Text the server sends comes partly from
// outside cutover (instances' log lines, hooks' output, reasons quoting them), and a byte such
// as ESC would let that text clear the screen, move the cursor, set the window title or
// rewrite what cutover printed before it.
//
// Newline and tab stay as they are. Every other C0 control (carriage return, backspace, ESC
// ...) and DEL become \xHH; C1 controls (U+0080-U+009F, which some terminals read as CSI and
// OSC) and the Unicode controls that reorder or hide text (bidi overrides and isolates,
// U+2028/U+2029) become \uHHHH; a byte that is not UTF-8 becomes \xHH. Backslashes are left
// alone, so the output reads as the input did wherever the input was printable.
func safe(s string) string {
	i := firstUnsafe(s)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x80 && unsafeASCII(byte(r)):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// firstUnsafe is the index of the first byte safe would change, or -1.
func firstUnsafe(s string) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if unsafeASCII(c) {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || unsafeRune(r) {
			return i
		}
		i += size
	}
	return -1
}

func unsafeASCII(c byte) bool { return (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f }

func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f: // C1 controls
		return true
	case r == 0x2028 || r == 0x2029: // line and paragraph separators
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c: // bidi
		return true
	}
	return false
}

// oneLine is safe for a table cell or a line of its own: newlines and tabs are escaped too.
func oneLine(s string) string {
	return strings.NewReplacer("\n", `\n`, "\t", `\t`).Replace(safe(s))
}
