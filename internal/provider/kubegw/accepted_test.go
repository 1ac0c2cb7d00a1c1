package kubegw

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func route(gen int64, parents ...gwv1.RouteParentStatus) *gwv1.HTTPRoute {
	r := &gwv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Generation: gen}}
	r.Status.Parents = parents
	return r
}

func parent(ns, name string, accepted, resolved metav1.ConditionStatus, gen int64, reason string) gwv1.RouteParentStatus {
	p := gwv1.RouteParentStatus{ParentRef: gwv1.ParentReference{Name: gwv1.ObjectName(name)}, ControllerName: "example.net/gw"}
	if ns != "" {
		n := gwv1.Namespace(ns)
		p.ParentRef.Namespace = &n
	}
	p.Conditions = []metav1.Condition{
		{Type: "Accepted", Status: accepted, ObservedGeneration: gen, Reason: reason, Message: "the listener does not allow this route "},
		{Type: "ResolvedRefs", Status: resolved, ObservedGeneration: gen, Reason: "BackendNotFound", Message: "service shop/web-green not found"},
	}
	return p
}

func TestAccepted(t *testing.T) {
	T, F := metav1.ConditionTrue, metav1.ConditionFalse
	for _, c := range []struct {
		name string
		r    *gwv1.HTTPRoute
		ok   bool
		why  string
	}{
		{"accepted at its generation", route(3, parent("infra", "edge", T, T, 3, "Accepted")), true, ""},
		{"no status yet", route(3), false, "gateway infra/edge has not reported on the route yet"},
		{"another gateway's status only", route(3, parent("infra", "other", T, T, 3, "Accepted")), false, "has not reported"},
		{"an older generation", route(4, parent("infra", "edge", T, T, 3, "Accepted")), false, "has not observed generation 4 yet (Accepted at generation 3)"},
		{"not accepted", route(3, parent("infra", "edge", F, T, 3, "NotAllowedByListeners")), false,
			"gateway infra/edge: Accepted False: NotAllowedByListeners: the listener does not allow this route"},
		{"refs not resolved", route(3, parent("infra", "edge", T, F, 3, "Accepted")), false, "ResolvedRefs False: BackendNotFound: service shop/web-green not found"},
		{"a second listener lags", route(3, parent("infra", "edge", T, T, 3, "Accepted"), parent("infra", "edge", T, T, 2, "Accepted")), false, "generation 3"},
	} {
		ok, why := Accepted(c.r, "infra", "edge")
		if ok != c.ok || !strings.Contains(why, c.why) {
			t.Errorf("%s: %v %q, want %v %q", c.name, ok, why, c.ok, c.why)
		}
	}
	// A parentRef without a namespace is the route's own.
	if ok, why := Accepted(route(1, parent("", "edge", T, T, 1, "Accepted")), "shop", "edge"); !ok {
		t.Errorf("same-namespace parent: %s", why)
	}
}
