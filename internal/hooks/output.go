package hooks

import (
	"sync"
	"unicode/utf8"
)

// tailBuffer is an io.Writer that keeps only the last max bytes written to it, so a command
// that prints without end costs bounded memory. It is safe for concurrent writes.
type tailBuffer struct {
	max int

	mu      sync.Mutex
	buf     []byte
	dropped int64 // bytes written but no longer kept
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

// Write keeps the tail of what was written. It never fails.
func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	if n >= b.max {
		b.dropped += int64(len(b.buf) + n - b.max)
		b.buf = append(b.buf[:0], p[n-b.max:]...)
		return n, nil
	}
	b.buf = append(b.buf, p...)
	// Compacting only once the buffer holds twice the limit keeps writes amortised O(len(p)).
	if len(b.buf) >= 2*b.max {
		b.trim()
	}
	return n, nil
}

func (b *tailBuffer) trim() {
	if over := len(b.buf) - b.max; over > 0 {
		b.dropped += int64(over)
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
}

// String returns at most max bytes: the tail of the output, preceded by a marker line when
// something was dropped. The cut is moved forward to a character boundary.
func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.trim()
	if b.dropped == 0 {
		return string(b.buf)
	}
	return truncated(b.buf, b.max)
}

// excerpt bounds an already-read body to max bytes, keeping the tail like tailBuffer.
func excerpt(body []byte, max int) string {
	if len(body) <= max {
		return string(body)
	}
	over := len(body) - max
	return truncated(body[over:], max)
}

// truncatedMarker starts an output whose beginning was dropped.
const truncatedMarker = "[... earlier output truncated ...]\n"

// truncated renders tail, the end of a longer output, within max bytes.
func truncated(tail []byte, max int) string {
	marker := truncatedMarker
	if cut := len(marker) + len(tail) - max; cut > 0 {
		tail = tail[min(cut, len(tail)):]
	}
	for i := 0; i < utf8.UTFMax && len(tail) > 0 && !utf8.RuneStart(tail[0]); i++ {
		tail = tail[1:]
	}
	return marker + string(tail)
}
