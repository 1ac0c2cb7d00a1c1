// Package kubegw is traffic.gateway_api: weighted steps on a Gateway API HTTPRoute, as Argo
// Rollouts' Gateway API plugin and Flagger do it. cutover owns the HTTPRoute (one rule) and
// two Services, APP-blue and APP-green, each selecting its slot's release's pods; the rule's
// two backendRefs point at them with weights that sum to MaxBP, so a weight in basis points
// is written exactly.
//
// A write counts only once the gateway has accepted the route at its current generation:
// every status.parents entry for the route's Gateway has Accepted and ResolvedRefs True
// with observedGeneration equal to metadata.generation (Flagger checks this; a gateway that
// has not caught up still routes the old weights). The weights cutover wrote are kept in an
// annotation of the route: different weights in its spec are drift, reported and never
// overwritten.
//
// It must not know the engine or deployments.
package kubegw

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/kube"
)

// annWritten is the route's annotation with the weights cutover last wrote, "blue=B green=G".
const annWritten = "cutover.dev/written"

// Config is what the provider needs of the spec.
type Config struct {
	Namespace, App, Route string
	// GatewayNamespace and Gateway name the parent; Section its listener ("" for all).
	GatewayNamespace, Gateway, Section string
	Hostnames                          []string
	Port, TargetPort                   int32 // the slot Services' port and the pods'
	Settle                             time.Duration
	Now                                func() time.Time // nil is time.Now
}

// Provider moves an app's traffic by HTTPRoute weights. It is safe for concurrent use.
type Provider struct {
	c   kube.Clients
	cfg Config

	mu       sync.Mutex
	since    time.Time // when the route's generation sinceGen was first seen accepted
	sinceGen int64
}

var _ provider.TrafficProvider = (*Provider)(nil)

// New returns a provider over c. It calls no API.
func New(c kube.Clients, cfg Config) (*Provider, error) {
	if cfg.Namespace == "" || cfg.App == "" || cfg.Route == "" || cfg.Gateway == "" || cfg.Port == 0 || cfg.TargetPort == 0 {
		return nil, fmt.Errorf("kubernetes: a gateway_api provider needs a namespace, an app, a route, a gateway and ports: %w", provider.ErrInvalid)
	}
	if cfg.GatewayNamespace == "" {
		cfg.GatewayNamespace = cfg.Namespace
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Provider{c: c, cfg: cfg}, nil
}

// ServiceName is the Service of slot.
func (p *Provider) ServiceName(slot provider.Slot) string { return p.cfg.App + "-" + string(slot) }

func (p *Provider) routeName() string {
	return fmt.Sprintf("httproute %s/%s", p.cfg.Namespace, p.cfg.Route)
}

// Prepare creates the two slot Services and the route, or adopts them when they carry
// cutover's owner label; one without it is ErrNotOwned and nothing changes.
func (p *Provider) Prepare(ctx context.Context) error {
	svcs := p.c.Core.Services(p.cfg.Namespace)
	for _, slot := range []provider.Slot{provider.Blue, provider.Green} {
		s, err := svcs.Get(ctx, p.ServiceName(slot), metav1.GetOptions{})
		if err == nil && !kube.Owned(s.Labels) {
			return kube.NotOwned("service", p.cfg.Namespace, s.Name)
		} else if err != nil && !apierrors.IsNotFound(err) {
			return kube.Err("kubernetes: get service "+p.cfg.Namespace+"/"+p.ServiceName(slot), err)
		}
	}
	r, err := p.c.Gateway.HTTPRoutes(p.cfg.Namespace).Get(ctx, p.cfg.Route, metav1.GetOptions{})
	switch {
	case err == nil && !kube.Owned(r.Labels):
		return kube.NotOwned("httproute", p.cfg.Namespace, p.cfg.Route)
	case err != nil && !apierrors.IsNotFound(err):
		return kube.Err("kubernetes: get "+p.routeName(), err)
	}
	for _, slot := range []provider.Slot{provider.Blue, provider.Green} {
		if err := p.ensureService(ctx, slot); err != nil {
			return err
		}
	}
	if err == nil {
		return p.reconcile(ctx)
	}
	_, err = p.c.Gateway.HTTPRoutes(p.cfg.Namespace).Create(ctx, p.route(), metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return kube.CreateErr("kubernetes: create "+p.routeName(), p.cfg.Namespace, err)
}

func (p *Provider) ensureService(ctx context.Context, slot provider.Slot) error {
	svcs := p.c.Core.Services(p.cfg.Namespace)
	if _, err := svcs.Get(ctx, p.ServiceName(slot), metav1.GetOptions{}); err == nil {
		return nil
	}
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: p.ServiceName(slot), Namespace: p.cfg.Namespace, Labels: kube.OwnerLabels(p.cfg.App)},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{kube.LabelApp: p.cfg.App, kube.LabelRelease: ""},
			Ports:    []corev1.ServicePort{{Name: "http", Port: p.cfg.Port, TargetPort: intstr.FromInt32(p.cfg.TargetPort), Protocol: corev1.ProtocolTCP}},
		},
	}
	_, err := svcs.Create(ctx, s, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return kube.CreateErr("kubernetes: create service "+p.cfg.Namespace+"/"+s.Name, p.cfg.Namespace, err)
}

func (p *Provider) parentRef() gwv1.ParentReference {
	ns := gwv1.Namespace(p.cfg.GatewayNamespace)
	ref := gwv1.ParentReference{Name: gwv1.ObjectName(p.cfg.Gateway), Namespace: &ns}
	if p.cfg.Section != "" {
		sn := gwv1.SectionName(p.cfg.Section)
		ref.SectionName = &sn
	}
	return ref
}

// reconcile brings an adopted route's parent and host names to the spec's (a spec applied
// anew may name another Gateway or listener); its rule is left alone.
func (p *Provider) reconcile(ctx context.Context) error {
	routes := p.c.Gateway.HTTPRoutes(p.cfg.Namespace)
	want := p.route().Spec
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		r, err := routes.Get(ctx, p.cfg.Route, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if equality.Semantic.DeepEqual(r.Spec.ParentRefs, want.ParentRefs) && equality.Semantic.DeepEqual(r.Spec.Hostnames, want.Hostnames) {
			return nil
		}
		r.Spec.ParentRefs, r.Spec.Hostnames = want.ParentRefs, want.Hostnames
		_, err = routes.Update(ctx, r, metav1.UpdateOptions{})
		return err
	})
	return kube.Err("kubernetes: update the parent and host names of "+p.routeName(), err)
}

// route is the HTTPRoute with all traffic to blue.
func (p *Provider) route() *gwv1.HTTPRoute {
	r := &gwv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: p.cfg.Route, Namespace: p.cfg.Namespace, Labels: kube.OwnerLabels(p.cfg.App),
			Annotations: map[string]string{annWritten: written(provider.MaxBP, 0)}},
		Spec: gwv1.HTTPRouteSpec{
			CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{p.parentRef()}},
			Rules:           []gwv1.HTTPRouteRule{{BackendRefs: p.backendRefs(provider.MaxBP, 0)}},
		},
	}
	for _, h := range p.cfg.Hostnames {
		r.Spec.Hostnames = append(r.Spec.Hostnames, gwv1.Hostname(h))
	}
	return r
}

func (p *Provider) backendRefs(blue, green int32) []gwv1.HTTPBackendRef {
	port := gwv1.PortNumber(p.cfg.Port)
	ref := func(slot provider.Slot, w int32) gwv1.HTTPBackendRef {
		return gwv1.HTTPBackendRef{BackendRef: gwv1.BackendRef{
			BackendObjectReference: gwv1.BackendObjectReference{Name: gwv1.ObjectName(p.ServiceName(slot)), Port: &port},
			Weight:                 &w,
		}}
	}
	return []gwv1.HTTPBackendRef{ref(provider.Blue, blue), ref(provider.Green, green)}
}

func written(blue, green int32) string { return fmt.Sprintf("blue=%d green=%d", blue, green) }

// Bind points slot's Service at b's release.
func (p *Provider) Bind(ctx context.Context, slot provider.Slot, b provider.Backend) error {
	if !slot.Valid() || b.Ref == "" {
		return fmt.Errorf("kubernetes: bind slot %q to release %q: %w", slot, b.Ref, provider.ErrInvalid)
	}
	svcs := p.c.Core.Services(p.cfg.Namespace)
	name := p.ServiceName(slot)
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		s, err := svcs.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !kube.Owned(s.Labels) {
			return kube.NotOwned("service", s.Namespace, s.Name)
		}
		if s.Spec.Selector[kube.LabelRelease] == b.Ref {
			return nil
		}
		s.Spec.Selector = map[string]string{kube.LabelApp: p.cfg.App, kube.LabelRelease: b.Ref}
		_, err = svcs.Update(ctx, s, metav1.UpdateOptions{})
		return err
	})
	return kube.Err(fmt.Sprintf("kubernetes: point service %s/%s at release %s", p.cfg.Namespace, name, b.Ref), err)
}

// Release deletes the route and the two Services; what is gone is released.
func (p *Provider) Release(ctx context.Context) error {
	routes := p.c.Gateway.HTTPRoutes(p.cfg.Namespace)
	r, err := routes.Get(ctx, p.cfg.Route, metav1.GetOptions{})
	switch {
	case err == nil && !kube.Owned(r.Labels):
		return kube.NotOwned("httproute", p.cfg.Namespace, p.cfg.Route)
	case err == nil:
		if err := routes.Delete(ctx, p.cfg.Route, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return kube.Err("kubernetes: delete "+p.routeName(), err)
		}
	case !apierrors.IsNotFound(err):
		return kube.Err("kubernetes: get "+p.routeName(), err)
	}
	svcs := p.c.Core.Services(p.cfg.Namespace)
	for _, slot := range []provider.Slot{provider.Blue, provider.Green} {
		s, err := svcs.Get(ctx, p.ServiceName(slot), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		} else if err != nil {
			return kube.Err("kubernetes: get service "+p.cfg.Namespace+"/"+p.ServiceName(slot), err)
		}
		if !kube.Owned(s.Labels) {
			return kube.NotOwned("service", s.Namespace, s.Name)
		}
		if err := svcs.Delete(ctx, s.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return kube.Err("kubernetes: delete service "+p.cfg.Namespace+"/"+s.Name, err)
		}
	}
	return nil
}
