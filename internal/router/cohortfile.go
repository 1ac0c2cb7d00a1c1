package router

import (
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// cohortFile keeps each app's new-client counter in a small file that every router process
// of a data dir maps shared (an upgrade's old and new process, restarted routers), so they
// continue one cohort sequence: the request path does one atomic add on the mapped word and
// allocates nothing. The file holds cohortSlots slots of cohortSlotSize bytes: a counter
// (8 bytes, aligned), the app name's length and the name. Slots are claimed under an
// exclusive flock of the file, at table changes only.
type cohortFile struct {
	f   *os.File
	mem []byte
}

const (
	cohortSlots    = 1024
	cohortSlotSize = 128 // 8 counter + 1 length + up to 63 name bytes, padded
)

func openCohortFile(path string) (*cohortFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open cohort counter file: %w", err)
	}
	size := int64(cohortSlots * cohortSlotSize)
	if st, err := f.Stat(); err == nil && st.Size() < size {
		if err := f.Truncate(size); err != nil {
			f.Close()
			return nil, fmt.Errorf("size cohort counter file %s: %w", path, err)
		}
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("map cohort counter file %s: %w", path, err)
	}
	return &cohortFile{f: f, mem: mem}, nil
}

// counter returns app's counter in the file, claiming a free slot for a new app; nil when
// every slot is taken or the name does not fit (the caller keeps one in memory).
func (c *cohortFile) counter(app string) *atomic.Uint64 {
	if len(app) == 0 || len(app) > cohortSlotSize-9 {
		return nil
	}
	if err := unix.Flock(int(c.f.Fd()), unix.LOCK_EX); err != nil {
		return nil
	}
	defer unix.Flock(int(c.f.Fd()), unix.LOCK_UN)
	for i := 0; i < cohortSlots; i++ {
		s := c.mem[i*cohortSlotSize : (i+1)*cohortSlotSize]
		n := int(s[8])
		if n == 0 {
			s[8] = byte(len(app))
			copy(s[9:], app)
		} else if n != len(app) || string(s[9:9+n]) != app {
			continue
		}
		return (*atomic.Uint64)(unsafe.Pointer(&s[0]))
	}
	return nil
}

// close closes the file; the mapping stays until the process exits, since a request still
// finishing after Close may touch its counter.
func (c *cohortFile) close() { _ = c.f.Close() }
