package multirouter

import (
	"net"
	"testing"

	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

// TestTwoFollowersOnLoopback: the server's API on 127.0.0.1, followers listening on
// 127.0.0.2 and 127.0.0.3 (--bind) and reaching the instances on 127.0.0.1.
func TestTwoFollowersOnLoopback(t *testing.T) {
	api := sampletest.FreeAddr(t)
	listen := sampletest.FreeAddr(t)
	_, port, _ := net.SplitHostPort(listen)
	top := topology{serverArgs: []string{"--listen", api}, listen: listen}
	for _, f := range []struct{ name, ip string }{{"r1", "127.0.0.2"}, {"r2", "127.0.0.3"}} {
		top.followers = append(top.followers, spot{name: f.name, follow: "http://" + api, bind: f.ip, loadURL: "http://" + net.JoinHostPort(f.ip, port)})
	}
	scenario(t, top)
}
