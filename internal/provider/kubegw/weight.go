package kubegw

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/kube"
)

// SetWeight writes green bp and blue the rest into the route's backendRefs.
func (p *Provider) SetWeight(ctx context.Context, bp int) (provider.Written, error) {
	if err := provider.CheckWeight(bp); err != nil {
		return provider.Written{}, fmt.Errorf("kubernetes: %s: %w", p.routeName(), err)
	}
	blue, green := int32(provider.MaxBP-bp), int32(bp)
	routes := p.c.Gateway.HTTPRoutes(p.cfg.Namespace)
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		r, err := routes.Get(ctx, p.cfg.Route, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !kube.Owned(r.Labels) {
			return kube.NotOwned("httproute", r.Namespace, r.Name)
		}
		if r.Annotations == nil {
			r.Annotations = map[string]string{}
		}
		r.Annotations[annWritten] = written(blue, green)
		if len(r.Spec.Rules) == 1 { // keep matches and filters someone added to the rule
			r.Spec.Rules[0].BackendRefs = p.backendRefs(blue, green)
		} else {
			r.Spec.Rules = []gwv1.HTTPRouteRule{{BackendRefs: p.backendRefs(blue, green)}}
		}
		_, err = routes.Update(ctx, r, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return provider.Written{}, kube.Err(fmt.Sprintf("kubernetes: write weights %s to %s", written(blue, green), p.routeName()), err)
	}
	return provider.Written{GreenBP: bp, Raw: written(blue, green), At: p.cfg.Now()}, nil
}

// Observe reads the route back: its weights, and whether the gateway accepted them.
func (p *Provider) Observe(ctx context.Context) (provider.Observed, error) {
	r, err := p.c.Gateway.HTTPRoutes(p.cfg.Namespace).Get(ctx, p.cfg.Route, metav1.GetOptions{})
	if err != nil {
		return provider.Observed{}, kube.Err("kubernetes: get "+p.routeName(), err)
	}
	blue, green, shape := p.weights(r)
	var o provider.Observed
	if blue+green > 0 {
		o.GreenBP = int((int64(green)*provider.MaxBP + int64(blue+green)/2) / int64(blue+green))
	}
	held := written(blue, green)
	switch w := r.Annotations[annWritten]; {
	case shape != "":
		o.Drift = fmt.Sprintf("%s: %s", p.routeName(), shape)
	case held != w:
		o.Drift = fmt.Sprintf("%s routes %s, cutover wrote %s", p.routeName(), held, w)
	}
	ok, why := Accepted(r, p.cfg.GatewayNamespace, p.cfg.Gateway)
	now := p.cfg.Now()
	p.mu.Lock()
	switch {
	case !ok:
		p.since, p.sinceGen = now, 0
	case p.sinceGen != r.Generation:
		p.since, p.sinceGen = now, r.Generation
	}
	since := p.since
	p.mu.Unlock()
	o.Converged, o.Reason = ok, why
	if ok {
		o.EffectiveAt = since.Add(p.cfg.Settle)
		o.Settle = fmt.Sprintf("settle %s after the gateway accepts generation %d", p.cfg.Settle, r.Generation)
	}
	state := "accepted"
	if !ok {
		state = "not accepted: " + why
	}
	o.Evidence = fmt.Sprintf("%s weights %s at generation %d, %s, read back at %s", p.routeName(), held, r.Generation, state, now.UTC().Format("15:04:05"))
	return o, nil
}

// weights are the route's blue and green weights; shape says what is wrong with its rules
// when they are not the one rule of two backendRefs cutover writes.
func (p *Provider) weights(r *gwv1.HTTPRoute) (blue, green int32, shape string) {
	if len(r.Spec.Rules) != 1 {
		return 0, 0, fmt.Sprintf("has %d rules, cutover wrote 1", len(r.Spec.Rules))
	}
	refs := r.Spec.Rules[0].BackendRefs
	for _, b := range refs {
		w := int32(1) // Gateway API's default weight
		if b.Weight != nil {
			w = *b.Weight
		}
		switch string(b.Name) {
		case p.ServiceName(provider.Blue):
			blue += w
		case p.ServiceName(provider.Green):
			green += w
		default:
			return 0, 0, fmt.Sprintf("routes to %s, which is neither %s nor %s", b.Name, p.ServiceName(provider.Blue), p.ServiceName(provider.Green))
		}
	}
	if len(refs) != 2 {
		return blue, green, fmt.Sprintf("has %d backendRefs, cutover wrote 2", len(refs))
	}
	return blue, green, ""
}

// Accepted reports whether the gateway namespace/name accepted r at its current
// generation: each of its status.parents entries for that Gateway has Accepted and
// ResolvedRefs True, observed at metadata.generation. When not, reason says why, with the
// gateway's own reason and message. It is pure.
func Accepted(r *gwv1.HTTPRoute, namespace, name string) (ok bool, reason string) {
	var seen int
	for _, ps := range r.Status.Parents {
		ns := r.Namespace
		if ps.ParentRef.Namespace != nil {
			ns = string(*ps.ParentRef.Namespace)
		}
		if ns != namespace || string(ps.ParentRef.Name) != name {
			continue
		}
		seen++
		for _, t := range []gwv1.RouteConditionType{gwv1.RouteConditionAccepted, gwv1.RouteConditionResolvedRefs} {
			c := meta.FindStatusCondition(ps.Conditions, string(t))
			switch {
			case c == nil:
				return false, fmt.Sprintf("gateway %s/%s reports no %s condition yet", namespace, name, t)
			case c.ObservedGeneration != r.Generation:
				return false, fmt.Sprintf("gateway %s/%s has not observed generation %d yet (%s at generation %d)", namespace, name, r.Generation, t, c.ObservedGeneration)
			case c.Status != metav1.ConditionTrue:
				return false, fmt.Sprintf("gateway %s/%s: %s %s: %s: %s", namespace, name, t, c.Status, c.Reason, strings.TrimSpace(c.Message))
			}
		}
	}
	if seen == 0 {
		return false, fmt.Sprintf("gateway %s/%s has not reported on the route yet (no status.parents entry)", namespace, name)
	}
	return true, ""
}
