package kubee2e

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/kubegw"
	"github.com/cutover/cutover/internal/provider/providertest"
)

func gatewayProvider(t *testing.T, ns, route, gateway string) *kubegw.Provider {
	t.Helper()
	p, err := kubegw.New(clients(t), kubegw.Config{Namespace: ns, App: "web", Route: route, Gateway: gateway,
		Hostnames: []string{"web.example.test"}, Port: 80, TargetPort: 8080, Settle: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func backend(v string) provider.Backend {
	return provider.Backend{Kind: "kubernetes-release", Ref: v, Version: v}
}

// TestGatewayAPIPassesTheTrafficContract: weights on a real HTTPRoute, counted once the
// gateway accepts the route at its generation; weights changed by hand are drift; a route
// cutover did not make is refused.
func TestGatewayAPIPassesTheTrafficContract(t *testing.T) {
	ns := cluster.Namespace(t, "gateway")
	cluster.Gateway(t, ns, "edge", "")
	n := 0
	providertest.RunTraffic(t, providertest.TrafficHarness{
		New: func(t *testing.T) provider.TrafficProvider {
			n++
			return gatewayProvider(t, ns, fmt.Sprintf("web%d", n), "edge")
		},
		Backend: func(t *testing.T, s provider.Slot) provider.Backend { return backend("v-" + string(s)) },
		Tamper: func(t *testing.T, p provider.TrafficProvider, bp int) {
			routes := cluster.GatewayAPI.GatewayV1().HTTPRoutes(ns)
			r, err := routes.Get(ctx(t), fmt.Sprintf("web%d", n), metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			b, g := int32(provider.MaxBP-bp), int32(bp)
			r.Spec.Rules[0].BackendRefs[0].Weight, r.Spec.Rules[0].BackendRefs[1].Weight = &b, &g
			if _, err := routes.Update(ctx(t), r, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		},
		Foreign: func(t *testing.T) provider.TrafficProvider {
			r := &gwv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: "taken", Namespace: ns}}
			if _, err := cluster.GatewayAPI.GatewayV1().HTTPRoutes(ns).Create(ctx(t), r, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			return gatewayProvider(t, ns, "taken", "edge")
		},
	})
}

func prepared(t *testing.T, p *kubegw.Provider) {
	t.Helper()
	if err := p.Prepare(ctx(t)); err != nil {
		t.Fatal(err)
	}
	for _, s := range []provider.Slot{provider.Blue, provider.Green} {
		if err := p.Bind(ctx(t), s, backend("v-"+string(s))); err != nil {
			t.Fatal(err)
		}
	}
}

// TestGatewayAPIWaitsForTheGeneration: while the gateway has not caught up with a write,
// the weight does not count and says why; once it has, it does.
func TestGatewayAPIWaitsForTheGeneration(t *testing.T) {
	ns := cluster.Namespace(t, "generation")
	cluster.Gateway(t, ns, "edge", "")
	p := gatewayProvider(t, ns, "web", "edge")
	prepared(t, p)
	w, err := p.SetWeight(ctx(t), 1000)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "10% to verify", func() (bool, string) {
		o, err := p.Observe(ctx(t))
		if err != nil {
			return false, err.Error()
		}
		return provider.Verify(o, w, time.Now())
	})
	cluster.PauseGateway(true)
	defer cluster.PauseGateway(false)
	if w, err = p.SetWeight(ctx(t), 5000); err != nil {
		t.Fatal(err)
	}
	o, err := p.Observe(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if ok, why := provider.Verify(o, w, time.Now()); ok || !strings.Contains(why, "has not observed generation") || o.GreenBP != 5000 {
		t.Fatalf("a write the gateway has not seen counts: %v %q %+v", ok, why, o)
	}
	cluster.PauseGateway(false)
	eventually(t, 10*time.Second, "50% to verify once the gateway catches up", func() (bool, string) {
		o, err := p.Observe(ctx(t))
		if err != nil {
			return false, err.Error()
		}
		ok, why := provider.Verify(o, w, time.Now())
		return ok && strings.Contains(o.Evidence, "weights blue=5000 green=5000 at generation"), why + " / " + o.Evidence
	})
}

// TestGatewayAPINotAcceptedSaysWhy: a route on a Gateway that rejects it never counts, with
// the gateway's reason; a missing backend Service is the gateway's ResolvedRefs reason.
func TestGatewayAPINotAcceptedSaysWhy(t *testing.T) {
	ns := cluster.Namespace(t, "rejected")
	cluster.Gateway(t, ns, "closed", "NotAllowedByListeners")
	p := gatewayProvider(t, ns, "web", "closed")
	prepared(t, p)
	w, err := p.SetWeight(ctx(t), 1000)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the rejection to show", func() (bool, string) {
		o, err := p.Observe(ctx(t))
		if err != nil {
			return false, err.Error()
		}
		ok, why := provider.Verify(o, w, time.Now())
		return !ok && strings.Contains(why, "Accepted False: NotAllowedByListeners"), why
	})
	if err := p.Release(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Observe(ctx(t)); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("Observe after Release: %v, want ErrNotFound", err)
	}
}

// TestGatewayAPISpecAppliedAnew: a spec applied again with other host names moves the
// route cutover owns to them, weights untouched.
func TestGatewayAPISpecAppliedAnew(t *testing.T) {
	ns := cluster.Namespace(t, "reapply")
	cluster.Gateway(t, ns, "edge", "")
	p := gatewayProvider(t, ns, "web", "edge")
	prepared(t, p)
	if _, err := p.SetWeight(ctx(t), 2500); err != nil {
		t.Fatal(err)
	}
	q, err := kubegw.New(clients(t), kubegw.Config{Namespace: ns, App: "web", Route: "web", Gateway: "edge",
		Hostnames: []string{"shop.example.test"}, Port: 80, TargetPort: 8080})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Prepare(ctx(t)); err != nil {
		t.Fatal(err)
	}
	r, err := cluster.GatewayAPI.GatewayV1().HTTPRoutes(ns).Get(ctx(t), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Spec.Hostnames) != 1 || r.Spec.Hostnames[0] != "shop.example.test" || *r.Spec.Rules[0].BackendRefs[1].Weight != 2500 {
		t.Fatalf("after the new spec: hostnames %v, rules %+v", r.Spec.Hostnames, r.Spec.Rules)
	}
}
