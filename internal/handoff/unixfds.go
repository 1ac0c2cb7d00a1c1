package handoff

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"sort"

	"golang.org/x/sys/unix"
)

// maxFiles bounds one message: the kernel passes at most 253 descriptors per message.
const maxFiles = 200

type filesMsg struct {
	Names []string `json:"names"`
}

// SendFiles sends named files (listening sockets) in one message over a unixpacket
// connection, with SCM_RIGHTS: the peer gets its own duplicates.
func SendFiles(c *net.UnixConn, files map[string]*os.File) error {
	if len(files) > maxFiles {
		return fmt.Errorf("handoff: %d sockets to send, at most %d", len(files), maxFiles)
	}
	msg := filesMsg{Names: make([]string, 0, len(files))}
	for n := range files {
		msg.Names = append(msg.Names, n)
	}
	sort.Strings(msg.Names)
	fds := make([]int, 0, len(files))
	for _, n := range msg.Names {
		// Not Fd(): it would put the socket, shared with a running accept loop, in blocking mode.
		raw, err := files[n].SyscallConn()
		if err != nil {
			return fmt.Errorf("handoff: %s: %w", n, err)
		}
		if err := raw.Control(func(fd uintptr) { fds = append(fds, int(fd)) }); err != nil {
			return fmt.Errorf("handoff: %s: %w", n, err)
		}
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	if _, _, err := c.WriteMsgUnix(data, oob, nil); err != nil {
		return fmt.Errorf("handoff: send %d sockets: %w", len(fds), err)
	}
	return nil
}

// RecvFiles reads one SendFiles message. The files are close-on-exec; the caller owns them.
func RecvFiles(c *net.UnixConn) (map[string]*os.File, error) {
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4*maxFiles))
	n, oobn, flags, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, fmt.Errorf("handoff: receive sockets: %w", err)
	}
	var fds []int
	if oobn > 0 {
		cmsgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return nil, fmt.Errorf("handoff: parse the control message: %w", err)
		}
		for _, cm := range cmsgs {
			got, err := unix.ParseUnixRights(&cm)
			if err != nil {
				closeFDs(fds)
				return nil, fmt.Errorf("handoff: parse the passed descriptors: %w", err)
			}
			fds = append(fds, got...)
		}
	}
	for _, fd := range fds {
		unix.CloseOnExec(fd)
	}
	if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
		closeFDs(fds)
		return nil, fmt.Errorf("handoff: the sockets message was truncated")
	}
	var msg filesMsg
	if err := json.Unmarshal(buf[:n], &msg); err != nil || len(msg.Names) != len(fds) {
		closeFDs(fds)
		return nil, fmt.Errorf("handoff: malformed sockets message (%d names for %d descriptors): %v", len(msg.Names), len(fds), err)
	}
	out := make(map[string]*os.File, len(fds))
	for i, name := range msg.Names {
		out[name] = os.NewFile(uintptr(fds[i]), name)
	}
	return out, nil
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		_ = unix.Close(fd)
	}
}
