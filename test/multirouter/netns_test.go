package multirouter

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestTwoFollowersAcrossNamespaces: the server (with its instances and own router) in one
// network namespace, each follower in its own, joined by a veth pair to the server's; the
// load runs inside each follower's namespace against its own loopback listener, and the
// followers reach the instances at the server's veth address. Nothing but the namespaces
// this test creates is touched; they are deleted at the end.
func TestTwoFollowersAcrossNamespaces(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test creates network namespaces and needs root (CI runs as root): run it as root, e.g. sudo -E go test ./test/multirouter")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal("this test needs ip from iproute2 (apt-get install -y iproute2; scripts/test.sh installs it)")
	}
	id := fmt.Sprintf("%04x", os.Getpid()&0xffff)
	srvNS := "co" + id + "s"
	exec := func(ns string) []string { return []string{"ip", "netns", "exec", ns} }
	newNS(t, srvNS)
	top := topology{serverWrap: exec(srvNS), serverArgs: []string{"--listen", "0.0.0.0:7070", "--insecure-non-loopback"}, listen: "127.0.0.1:18080"}
	for i := 1; i <= 2; i++ {
		ns := fmt.Sprintf("co%s%d", id, i)
		newNS(t, ns)
		srvIP, rIP := fmt.Sprintf("10.231.%d.1", i), fmt.Sprintf("10.231.%d.2", i)
		a, b := fmt.Sprintf("co%ss%d", id, i), fmt.Sprintf("co%sr%d", id, i)
		ip(t, "link", "add", a, "type", "veth", "peer", "name", b)
		ip(t, "link", "set", a, "netns", srvNS)
		ip(t, "link", "set", b, "netns", ns)
		ip(t, "-n", srvNS, "addr", "add", srvIP+"/24", "dev", a)
		ip(t, "-n", ns, "addr", "add", rIP+"/24", "dev", b)
		ip(t, "-n", srvNS, "link", "set", a, "up")
		ip(t, "-n", ns, "link", "set", b, "up")
		top.followers = append(top.followers, spot{name: fmt.Sprintf("r%d", i), wrap: exec(ns),
			follow: "http://" + srvIP + ":7070", loadURL: "http://127.0.0.1:18080"})
	}
	scenario(t, top)
}

// newNS creates a namespace with its loopback up, deleted when the test ends.
func newNS(t *testing.T, name string) {
	t.Helper()
	ip(t, "netns", "add", name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	ip(t, "-n", name, "link", "set", "lo", "up")
}

func ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}
