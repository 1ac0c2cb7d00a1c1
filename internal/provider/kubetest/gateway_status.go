package kubetest

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// parents computes route's status.parents: entries of other controllers as they are,
// then one entry per parentRef to a Gateway of this controller, conditions at the
// route's generation (LastTransitionTime kept while a status stays).
func (s *snapshot) parents(route *gatewayv1.HTTPRoute) []gatewayv1.RouteParentStatus {
	var out []gatewayv1.RouteParentStatus
	for _, p := range route.Status.Parents {
		if p.ControllerName != ControllerName {
			out = append(out, p)
		}
	}
	resolved := s.resolvedRefs(route)
	for _, ref := range route.Spec.ParentRefs {
		gw := s.ownGateway(route.Namespace, ref)
		if gw == nil {
			continue
		}
		accepted := metav1.Condition{Type: string(gatewayv1.RouteConditionAccepted), Status: metav1.ConditionTrue,
			Reason: string(gatewayv1.RouteReasonAccepted), Message: "Route is accepted"}
		if reason := gw.Annotations[RejectAnnotation]; reason != "" {
			accepted.Status, accepted.Reason = metav1.ConditionFalse, reason
			accepted.Message = fmt.Sprintf("Gateway %s/%s does not accept the route (annotation %s)", gw.Namespace, gw.Name, RejectAnnotation)
		}
		var conds []metav1.Condition
		for _, p := range route.Status.Parents {
			if p.ControllerName == ControllerName && reflect.DeepEqual(p.ParentRef, ref) {
				conds = append(conds, p.Conditions...)
			}
		}
		for _, c := range []metav1.Condition{accepted, resolved} {
			c.ObservedGeneration = route.Generation
			meta.SetStatusCondition(&conds, c)
		}
		out = append(out, gatewayv1.RouteParentStatus{ParentRef: ref, ControllerName: ControllerName, Conditions: conds})
	}
	return out
}

// ownGateway returns the Gateway ref points to if it exists and its GatewayClass names
// this controller, else nil.
func (s *snapshot) ownGateway(routeNS string, ref gatewayv1.ParentReference) *gatewayv1.Gateway {
	if (ref.Group != nil && *ref.Group != gatewayv1.GroupName) || (ref.Kind != nil && *ref.Kind != "Gateway") {
		return nil
	}
	ns := routeNS
	if ref.Namespace != nil && *ref.Namespace != "" {
		ns = string(*ref.Namespace)
	}
	gw := s.gateways[ns+"/"+string(ref.Name)]
	if gw == nil {
		return nil
	}
	if gc := s.classes[string(gw.Spec.GatewayClassName)]; gc == nil || gc.Spec.ControllerName != ControllerName {
		return nil
	}
	return gw
}

// resolvedRefs is the ResolvedRefs condition: True unless a backendRef is not a core
// Service or names a Service that does not exist.
func (s *snapshot) resolvedRefs(route *gatewayv1.HTTPRoute) metav1.Condition {
	var missing, invalid []string
	for _, rule := range route.Spec.Rules {
		for _, b := range rule.BackendRefs {
			ns := route.Namespace
			if b.Namespace != nil && *b.Namespace != "" {
				ns = string(*b.Namespace)
			}
			key := ns + "/" + string(b.Name)
			switch {
			case (b.Group != nil && *b.Group != "") || (b.Kind != nil && *b.Kind != "Service"):
				invalid = append(invalid, key)
			case !s.services[key]:
				missing = append(missing, key)
			}
		}
	}
	c := metav1.Condition{Type: string(gatewayv1.RouteConditionResolvedRefs), Status: metav1.ConditionTrue,
		Reason: string(gatewayv1.RouteReasonResolvedRefs), Message: "All references resolved"}
	switch {
	case len(invalid) > 0:
		c.Status, c.Reason = metav1.ConditionFalse, string(gatewayv1.RouteReasonInvalidKind)
		c.Message = "backendRefs of an unsupported kind (only core Service): " + strings.Join(invalid, ", ")
	case len(missing) > 0:
		c.Status, c.Reason = metav1.ConditionFalse, string(gatewayv1.RouteReasonBackendNotFound)
		c.Message = "backend Service not found: " + strings.Join(missing, ", ")
	}
	return c
}

// Gateway creates the GatewayClass "kubetest" of this controller (once) and a Gateway
// namespace/name of that class with one HTTP listener on port 80 that allows routes from
// all namespaces, marks both Accepted (and the Gateway Programmed), and deletes the
// Gateway when t ends. A non-empty reject sets RejectAnnotation: the stand-in then reports
// routes attached to it Accepted=False with reason reject.
func (c *Cluster) Gateway(t testing.TB, namespace, name, reject string) *gatewayv1.Gateway {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	api := c.GatewayAPI.GatewayV1()
	gc, err := api.GatewayClasses().Create(ctx, &gatewayv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: GatewayClassName},
		Spec:       gatewayv1.GatewayClassSpec{ControllerName: ControllerName},
	}, metav1.CreateOptions{})
	if err == nil {
		setCondition(&gc.Status.Conditions, "Accepted", "Accepted", gc.Generation)
		_, err = api.GatewayClasses().UpdateStatus(ctx, gc, metav1.UpdateOptions{})
	}
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("kubetest: creating GatewayClass %s: %v", GatewayClassName, err)
	}
	all := gatewayv1.NamespacesFromAll
	gw := &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: gatewayv1.GatewaySpec{
			GatewayClassName: GatewayClassName,
			Listeners: []gatewayv1.Listener{{Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType,
				AllowedRoutes: &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: &all}}}},
		},
	}
	if reject != "" {
		gw.Annotations = map[string]string{RejectAnnotation: reject}
	}
	if gw, err = api.Gateways(namespace).Create(ctx, gw, metav1.CreateOptions{}); err != nil {
		t.Fatalf("kubetest: creating Gateway %s/%s: %v", namespace, name, err)
	}
	t.Cleanup(func() {
		_ = api.Gateways(namespace).Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	setCondition(&gw.Status.Conditions, "Accepted", "Accepted", gw.Generation)
	setCondition(&gw.Status.Conditions, "Programmed", "Programmed", gw.Generation)
	if gw, err = api.Gateways(namespace).UpdateStatus(ctx, gw, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("kubetest: writing the status of Gateway %s/%s: %v", namespace, name, err)
	}
	return gw
}

func setCondition(conds *[]metav1.Condition, typ, reason string, gen int64) {
	meta.SetStatusCondition(conds, metav1.Condition{Type: typ, Status: metav1.ConditionTrue, Reason: reason, ObservedGeneration: gen, Message: "kubetest stand-in"})
}
