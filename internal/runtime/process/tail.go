package process

import (
	"bytes"
	"io"
	"os"
	"slices"
)

const (
	tailChunk   = 64 << 10 // bytes read per step, backwards from the end
	tailMaxRead = 16 << 20 // bytes read at most, however long the lines are
)

// tailLines returns the last n lines of the file at path, oldest first, without their
// terminators ("\n", or "\r\n"). A last line without a terminator counts as a line. It reads
// the file backwards in chunks and stops as soon as it holds n lines, so its cost depends on
// n and the line length, not on the size of the file; it reads at most tailMaxRead bytes and
// then returns the complete lines those hold.
func tailLines(path string, n int) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if n <= 0 {
		return []string{}, nil
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := fi.Size()
	if off == 0 {
		return []string{}, nil
	}
	var chunks [][]byte // read backwards: chunks[0] is the last part of the file
	read, seps := int64(0), 0
	for off > 0 && read < tailMaxRead {
		step := min(off, tailChunk)
		off -= step
		chunk := make([]byte, step)
		if _, err := f.ReadAt(chunk, off); err != nil && err != io.EOF {
			return nil, err
		}
		if read == 0 {
			chunk = bytes.TrimSuffix(chunk, []byte("\n")) // the last line's terminator
		}
		chunks = append(chunks, chunk)
		read += step
		// n lines need n separators, unless the start of the file bounds the first one.
		if seps += bytes.Count(chunk, []byte("\n")); seps >= n {
			break
		}
	}
	slices.Reverse(chunks)
	buf := bytes.Join(chunks, nil)
	parts := bytes.Split(buf, []byte("\n"))
	if off > 0 {
		parts = parts[1:] // begins mid-line
	}
	if len(parts) > n {
		parts = parts[len(parts)-n:]
	}
	lines := make([]string, len(parts))
	for i, p := range parts {
		lines[i] = string(bytes.TrimSuffix(p, []byte("\r")))
	}
	return lines, nil
}
