package kubetest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/provider/kubetest"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func route(ns, name, gateway string, backends ...string) *gatewayv1.HTTPRoute {
	var refs []gatewayv1.HTTPBackendRef
	for _, b := range backends {
		refs = append(refs, gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{
			BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(b), Port: new(gatewayv1.PortNumber(80))},
		}})
	}
	return &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: gatewayv1.ObjectName(gateway)}}},
			Rules:           []gatewayv1.HTTPRouteRule{{BackendRefs: refs}},
		},
	}
}

func createRoute(t *testing.T, r *gatewayv1.HTTPRoute) {
	t.Helper()
	if _, err := cluster.GatewayAPI.GatewayV1().HTTPRoutes(r.Namespace).Create(context.Background(), r, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// routeConds checks that route ns/name has exactly one status parent, this controller's,
// whose Accepted and ResolvedRefs conditions have the wanted status and reason at the
// route's generation (or at gen, if gen > 0). It returns the route's generation.
func routeConds(ctx context.Context, ns, name string, gen int64, accepted, resolved string) (int64, string) {
	r, err := cluster.GatewayAPI.GatewayV1().HTTPRoutes(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return 0, err.Error()
	}
	if gen == 0 {
		gen = r.Generation
	}
	if len(r.Status.Parents) != 1 || r.Status.Parents[0].ControllerName != kubetest.ControllerName {
		return r.Generation, fmt.Sprintf("route %s parents %+v", name, r.Status.Parents)
	}
	for typ, want := range map[string]string{"Accepted": accepted, "ResolvedRefs": resolved} {
		c := meta.FindStatusCondition(r.Status.Parents[0].Conditions, typ)
		if c == nil || string(c.Status)+"/"+c.Reason != want || c.ObservedGeneration != gen {
			return r.Generation, fmt.Sprintf("route %s generation %d condition %s = %+v, want %s at %d", name, r.Generation, typ, c, want, gen)
		}
	}
	return r.Generation, ""
}

func TestGatewayStandIn(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, "gw")
	ctx := context.Background()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}
	if _, err := cluster.Kube.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	gw := cluster.Gateway(t, ns, "gw", "")
	if c := meta.FindStatusCondition(gw.Status.Conditions, "Programmed"); c == nil || c.Status != metav1.ConditionTrue {
		t.Fatalf("gateway status %+v", gw.Status)
	}
	cluster.Gateway(t, ns, "picky", string(gatewayv1.RouteReasonNotAllowedByListeners))
	routes := cluster.GatewayAPI.GatewayV1().HTTPRoutes(ns)

	t.Run("accepted and resolved, following the generation", func(t *testing.T) {
		createRoute(t, route(ns, "ok", "gw", "web"))
		eventually(t, 10*time.Second, func(ctx context.Context) string {
			_, why := routeConds(ctx, ns, "ok", 0, "True/Accepted", "True/ResolvedRefs")
			return why
		})
		updateRoute(t, ns, "ok")
		eventually(t, 10*time.Second, func(ctx context.Context) string {
			gen, why := routeConds(ctx, ns, "ok", 0, "True/Accepted", "True/ResolvedRefs")
			if why == "" && gen != 2 {
				return fmt.Sprintf("generation %d, want 2", gen)
			}
			return why
		})
	})
	t.Run("missing backend", func(t *testing.T) {
		createRoute(t, route(ns, "dangling", "gw", "web", "nope"))
		eventually(t, 10*time.Second, func(ctx context.Context) string {
			_, why := routeConds(ctx, ns, "dangling", 0, "True/Accepted", "False/BackendNotFound")
			return why
		})
		r, _ := routes.Get(ctx, "dangling", metav1.GetOptions{})
		if c := meta.FindStatusCondition(r.Status.Parents[0].Conditions, "ResolvedRefs"); !strings.Contains(c.Message, ns+"/nope") || strings.Contains(c.Message, "/web") {
			t.Fatalf("ResolvedRefs message %q should name only the missing Service", c.Message)
		}
	})
	t.Run("rejecting gateway", func(t *testing.T) {
		createRoute(t, route(ns, "rejected", "picky", "web"))
		eventually(t, 10*time.Second, func(ctx context.Context) string {
			_, why := routeConds(ctx, ns, "rejected", 0, "False/NotAllowedByListeners", "True/ResolvedRefs")
			return why
		})
	})
	t.Run("foreign gateway left alone", func(t *testing.T) {
		other := &gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "other-" + ns},
			Spec: gatewayv1.GatewayClassSpec{ControllerName: "example.com/other"}}
		if _, err := cluster.GatewayAPI.GatewayV1().GatewayClasses().Create(ctx, other, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		foreign := &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "foreign"}, Spec: gatewayv1.GatewaySpec{
			GatewayClassName: gatewayv1.ObjectName(other.Name),
			Listeners:        []gatewayv1.Listener{{Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType}}}}
		if _, err := cluster.GatewayAPI.GatewayV1().Gateways(ns).Create(ctx, foreign, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		createRoute(t, route(ns, "foreign", "foreign", "web"))
		holds(t, 2*time.Second, func(ctx context.Context) string {
			r, err := routes.Get(ctx, "foreign", metav1.GetOptions{})
			if err != nil || len(r.Status.Parents) != 0 {
				return fmt.Sprintf("route status %+v (%v)", r.Status, err)
			}
			return ""
		})
	})
	t.Run("pause", func(t *testing.T) {
		cluster.PauseGateway(true)
		defer cluster.PauseGateway(false)
		updateRoute(t, ns, "ok") // generation 3, status stays at 2
		holds(t, 2*time.Second, func(ctx context.Context) string {
			_, why := routeConds(ctx, ns, "ok", 2, "True/Accepted", "True/ResolvedRefs")
			return why
		})
		cluster.PauseGateway(false)
		eventually(t, 10*time.Second, func(ctx context.Context) string {
			_, why := routeConds(ctx, ns, "ok", 3, "True/Accepted", "True/ResolvedRefs")
			return why
		})
	})
}

// updateRoute changes the route's spec (one more hostname), bumping its generation.
func updateRoute(t *testing.T, ns, name string) {
	t.Helper()
	routes := cluster.GatewayAPI.GatewayV1().HTTPRoutes(ns)
	r, err := routes.Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r.Spec.Hostnames = append(r.Spec.Hostnames, gatewayv1.Hostname(fmt.Sprintf("h%d.example.com", len(r.Spec.Hostnames))))
	if _, err := routes.Update(context.Background(), r, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}
