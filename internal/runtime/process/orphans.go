package process

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// EnvStateDir marks every instance with the state dir of the driver that started it. A
// cutover killed between starting a process and writing its record leaves an instance that
// no record names; the mark is how the next driver over the same state dir finds it.
const EnvStateDir = "CUTOVER_PROCESS_STATE_DIR"

// reapOrphans kills the process groups of instances this state dir started but never
// recorded (the engine starts them again under their record), and returns how many. It
// leaves alone every recorded PID, the instances this driver is starting now, and processes
// that are not their group's leader (an instance's own children, which go with its group).
func (d *Driver) reapOrphans(recorded map[int]bool) int {
	ents, err := os.ReadDir(procRoot)
	if err != nil {
		d.log.Warn("process: cannot look for unrecorded instances", "err", err)
		return 0
	}
	mark := []byte(EnvStateDir + "=" + d.stateDir + "\x00")
	n := 0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() || recorded[pid] {
			continue
		}
		env, err := os.ReadFile(fmt.Sprintf("%s/%d/environ", procRoot, pid))
		if err != nil || !bytes.Contains(append([]byte{0}, env...), append([]byte{0}, mark...)) {
			continue
		}
		st, err := readStat(pid)
		if err != nil || st.PGRP != pid || st.exited() {
			continue
		}
		id := envValue(env, "CUTOVER_INSTANCE")
		d.mu.Lock()
		_, starting := d.starting[id]
		d.mu.Unlock()
		if starting {
			continue
		}
		d.log.Warn("process: stopping an instance that was started but never recorded (cutover stopped while starting it)",
			"instance", id, "pid", pid)
		if syscall.Kill(-pid, syscall.SIGKILL) == nil {
			n++
		}
	}
	return n
}

// envValue is the value of name in a NUL-separated environment block, or "".
func envValue(env []byte, name string) string {
	for _, kv := range bytes.Split(env, []byte{0}) {
		if k, v, ok := bytes.Cut(kv, []byte("=")); ok && string(k) == name {
			return string(v)
		}
	}
	return ""
}
