package kubee2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/kube"
	"github.com/cutover/cutover/internal/provider/kubesvc"
	"github.com/cutover/cutover/internal/provider/providertest"
)

// selectorWorld is a namespace with two ready releases, v1 and v2, for Service selector
// providers to move between.
type selectorWorld struct {
	ns       string
	backends map[provider.Slot]provider.Backend
	n        int
}

func newSelectorWorld(t *testing.T) *selectorWorld {
	w := &selectorWorld{ns: cluster.Namespace(t, "selector"), backends: map[provider.Slot]provider.Backend{}}
	d := driver(t, w.ns)
	w.backends[provider.Blue] = ready(t, d, release("v1", provider.Blue, "v1"), 2).Backend
	w.backends[provider.Green] = ready(t, d, release("v2", provider.Green, "v2"), 2).Backend
	return w
}

func (w *selectorWorld) provider(t *testing.T, service string) *kubesvc.Provider {
	t.Helper()
	p, err := kubesvc.New(clients(t), kubesvc.Config{Namespace: w.ns, App: "web", Service: service, Preview: service + "-preview",
		Port: 80, TargetPort: 8080, Settle: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestServiceSelectorPassesTheTrafficContract: the production Service flips between two
// real releases, verified by its EndpointSlices; the preview Service is the test route; a
// selector changed by hand is drift; a Service cutover did not make is refused.
func TestServiceSelectorPassesTheTrafficContract(t *testing.T) {
	w := newSelectorWorld(t)
	providertest.RunTraffic(t, providertest.TrafficHarness{
		New: func(t *testing.T) provider.TrafficProvider {
			w.n++
			return w.provider(t, fmt.Sprintf("web%d", w.n))
		},
		Backend: func(t *testing.T, s provider.Slot) provider.Backend { return w.backends[s] },
		Quantum: provider.MaxBP / 2,
		Tamper: func(t *testing.T, p provider.TrafficProvider, bp int) {
			name := fmt.Sprintf("web%d", w.n)
			rel := w.backends[provider.Blue].Ref
			if bp >= provider.MaxBP/2 {
				rel = w.backends[provider.Green].Ref
			}
			s, err := cluster.Kube.CoreV1().Services(w.ns).Get(ctx(t), name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			s.Spec.Selector[kube.LabelRelease] = rel
			if _, err := cluster.Kube.CoreV1().Services(w.ns).Update(ctx(t), s, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		},
		Foreign: func(t *testing.T) provider.TrafficProvider {
			foreignService(t, w.ns, "taken")
			return w.provider(t, "taken")
		},
	})
}

// TestServiceSelectorEvidence: a swap is verified only once the EndpointSlices list
// green's pods alone, and the evidence says so.
func TestServiceSelectorEvidence(t *testing.T) {
	w := newSelectorWorld(t)
	p := w.provider(t, "web")
	c := ctx(t)
	if err := p.Prepare(c); err != nil {
		t.Fatal(err)
	}
	for _, s := range []provider.Slot{provider.Blue, provider.Green} {
		if err := p.Bind(c, s, w.backends[s]); err != nil {
			t.Fatal(err)
		}
	}
	wr, err := p.SetWeight(c, provider.MaxBP)
	if err != nil || wr.GreenBP != provider.MaxBP || wr.Raw != "selector release=v2 (green)" {
		t.Fatalf("SetWeight: %+v %v", wr, err)
	}
	eventually(t, 20*time.Second, "the swap to verify", func() (bool, string) {
		o, err := p.Observe(c)
		if err != nil {
			return false, err.Error()
		}
		ok, why := provider.Verify(o, wr, time.Now())
		return ok && strings.Contains(o.Evidence, "service "+w.ns+"/web selects release v2 (green): 2 ready endpoint(s) of it, 0 of others"), why + " / " + o.Evidence
	})
	if err := p.SetTestRoute(c, provider.Green); err != nil {
		t.Fatal(err)
	}
	prev, err := cluster.Kube.CoreV1().Services(w.ns).Get(c, "web-preview", metav1.GetOptions{})
	if err != nil || prev.Spec.Selector[kube.LabelRelease] != "v2" {
		t.Fatalf("the preview Service selects %v (%v), want v2", prev.Spec.Selector, err)
	}
}
