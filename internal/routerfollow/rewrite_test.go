package routerfollow

import (
	"testing"

	"github.com/cutover/cutover/internal/router"
)

func TestRewrite(t *testing.T) {
	in := router.Table{
		Listeners: []router.Listener{{Addr: "127.0.0.1:8080"}, {Addr: "127.0.0.1:8081"}},
		Apps: []router.App{{Name: "web", TestListener: "127.0.0.1:8081",
			Routes: []router.Route{{Listener: "127.0.0.1:8080"}},
			Blue:   router.Pool{Version: "v1", Instances: []router.Instance{{ID: "a", Addr: "127.0.0.1:4001"}, {ID: "b", Addr: "10.9.9.9:4002"}}},
			Green:  router.Pool{Version: "v2", Instances: []router.Instance{{ID: "c", Addr: "[::1]:4003"}, {ID: "d", Addr: "localhost:4004"}}},
		}},
	}
	out := Rewrite(in, "10.0.0.2", "10.0.0.1")
	if out.Listeners[0].Addr != "10.0.0.2:8080" || out.Apps[0].Routes[0].Listener != "10.0.0.2:8080" || out.Apps[0].TestListener != "10.0.0.2:8081" {
		t.Errorf("listeners not moved together: %+v %+v", out.Listeners, out.Apps[0])
	}
	want := []string{"10.0.0.1:4001", "10.9.9.9:4002", "10.0.0.1:4003", "10.0.0.1:4004"}
	got := []string{out.Apps[0].Blue.Instances[0].Addr, out.Apps[0].Blue.Instances[1].Addr, out.Apps[0].Green.Instances[0].Addr, out.Apps[0].Green.Instances[1].Addr}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("instance %d: %s, want %s (loopback ones to the upstream host, others kept)", i, got[i], want[i])
		}
	}
	if in.Apps[0].Blue.Instances[0].Addr != "127.0.0.1:4001" || in.Apps[0].Routes[0].Listener != "127.0.0.1:8080" {
		t.Error("Rewrite changed the server's table in place")
	}
	if same := Rewrite(in, "", ""); same.Listeners[0].Addr != "127.0.0.1:8080" || same.Apps[0].Blue.Instances[0].Addr != "127.0.0.1:4001" {
		t.Error("without bind and upstream nothing may change")
	}
}

func TestOptionsRefuseWhatCannotWork(t *testing.T) {
	for _, o := range []Options{{}, {URL: "http://10.0.0.1:7070"}, {URL: "ftp://x", Token: "t"}, {URL: "http://10.0.0.1:7070", Token: "t", Bind: "eth0"}} {
		if err := o.fill(); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	o := Options{URL: "http://10.0.0.1:7070", Token: "t"}
	if err := o.fill(); err != nil || o.UpstreamHost != "10.0.0.1" {
		t.Errorf("default upstream host %q (%v), want the server's", o.UpstreamHost, err)
	}
}
