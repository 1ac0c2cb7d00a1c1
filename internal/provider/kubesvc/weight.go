package kubesvc

import (
	"context"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/kube"
)

func kubeErr(op, namespace, name string, err error) error {
	return kube.Err(fmt.Sprintf("kubernetes: %s service %s/%s", op, namespace, name), err)
}

// SetWeight points the production Service at the green slot's release when bp is at least
// half, else at the blue slot's, and returns 0 or MaxBP as written.
func (p *Provider) SetWeight(ctx context.Context, bp int) (provider.Written, error) {
	if err := provider.CheckWeight(bp); err != nil {
		return provider.Written{}, fmt.Errorf("kubernetes: service %s/%s: %w", p.cfg.Namespace, p.cfg.Service, err)
	}
	slot, green := provider.Blue, 0
	if bp >= provider.MaxBP/2 {
		slot, green = provider.Green, provider.MaxBP
	}
	var release string
	_, err := p.update(ctx, p.cfg.Service, "select the "+string(slot)+" release in", func(s *corev1.Service) {
		release = s.Annotations[slotAnn(slot)]
		s.Annotations[annWritten], s.Spec.Selector = release, p.selector(release)
	})
	if err != nil {
		return provider.Written{}, err
	}
	return provider.Written{GreenBP: green, Raw: fmt.Sprintf("selector release=%s (%s)", release, slot), At: p.cfg.Now()}, nil
}

// Observe reads the production Service and its EndpointSlices back.
func (p *Provider) Observe(ctx context.Context) (provider.Observed, error) {
	s, err := p.services().Get(ctx, p.cfg.Service, metav1.GetOptions{})
	if err != nil {
		return provider.Observed{}, kubeErr("get service", p.cfg.Namespace, p.cfg.Service, err)
	}
	sel, written := s.Spec.Selector, s.Annotations[annWritten]
	held := sel[kube.LabelRelease]
	var o provider.Observed
	if held != "" && held == s.Annotations[annGreen] {
		o.GreenBP = provider.MaxBP
	}
	if !maps.Equal(sel, p.selector(written)) {
		o.Drift = fmt.Sprintf("service %s/%s selects %s, cutover wrote %s", p.cfg.Namespace, p.cfg.Service,
			labels.SelectorFromSet(sel), labels.SelectorFromSet(p.selector(written)))
	}
	ready, foreign, err := p.endpoints(ctx, held)
	if err != nil {
		return provider.Observed{}, err
	}
	now := p.cfg.Now()
	o.Converged = foreign == 0 && (ready > 0 || held == "")
	p.mu.Lock()
	switch {
	case !o.Converged:
		p.since, p.sinceLabel = time.Time{}, ""
	case p.sinceLabel != held || p.since.IsZero():
		p.since, p.sinceLabel = now, held
	}
	since := p.since
	p.mu.Unlock()
	slot := "blue"
	if o.GreenBP == provider.MaxBP {
		slot = "green"
	}
	switch {
	case o.Converged:
		o.EffectiveAt = since.Add(p.cfg.Settle)
		o.Settle = fmt.Sprintf("settle %s after the endpoints follow", p.cfg.Settle)
	case foreign > 0:
		o.Reason = fmt.Sprintf("its EndpointSlices still list %d ready endpoint(s) of other pods", foreign)
	default:
		o.Reason = fmt.Sprintf("its EndpointSlices list no ready endpoint of release %s yet", held)
	}
	o.Evidence = fmt.Sprintf("service %s/%s selects release %s (%s): %d ready endpoint(s) of it, %d of others, read back at %s",
		p.cfg.Namespace, p.cfg.Service, orNone(held), slot, ready, foreign, now.UTC().Format("15:04:05"))
	return o, nil
}

// endpoints counts the ready endpoints of the production Service that are pods of
// release, and those that are not.
func (p *Provider) endpoints(ctx context.Context, release string) (ready, foreign int, err error) {
	ips := map[string]bool{}
	if release != "" {
		pods, err := p.c.Core.Pods(p.cfg.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(p.selector(release)).String()})
		if err != nil {
			return 0, 0, kubeErr("list the pods of", p.cfg.Namespace, p.cfg.Service, err)
		}
		for _, pod := range pods.Items {
			for _, ip := range pod.Status.PodIPs {
				ips[ip.IP] = true
			}
		}
	}
	slices, err := p.c.Discovery.EndpointSlices(p.cfg.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + p.cfg.Service})
	if err != nil {
		return 0, 0, kubeErr("list the endpoint slices of", p.cfg.Namespace, p.cfg.Service, err)
	}
	for _, sl := range slices.Items {
		for _, ep := range sl.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, a := range ep.Addresses {
				if ips[a] {
					ready++
				} else {
					foreign++
				}
			}
		}
	}
	return ready, foreign, nil
}

// SetTestRoute points the preview Service at slot's release.
func (p *Provider) SetTestRoute(ctx context.Context, slot provider.Slot) error {
	if !slot.Valid() {
		return fmt.Errorf("kubernetes: point the preview service at slot %q: %w", slot, provider.ErrInvalid)
	}
	prod, err := p.services().Get(ctx, p.cfg.Service, metav1.GetOptions{})
	if err != nil {
		return kubeErr("get service", p.cfg.Namespace, p.cfg.Service, err)
	}
	release := prod.Annotations[slotAnn(slot)]
	_, err = p.update(ctx, p.cfg.Preview, "point at "+string(slot)+" the preview", func(s *corev1.Service) {
		s.Annotations[annTest], s.Spec.Selector = string(slot), p.selector(release)
	})
	return err
}

// TestRoute reads the preview Service's slot and its in-cluster URL.
func (p *Provider) TestRoute(ctx context.Context) (provider.Slot, string, error) {
	s, err := p.services().Get(ctx, p.cfg.Preview, metav1.GetOptions{})
	if err != nil {
		return "", "", kubeErr("get service", p.cfg.Namespace, p.cfg.Preview, err)
	}
	return provider.Slot(s.Annotations[annTest]), fmt.Sprintf("http://%s.%s.svc:%d", p.cfg.Preview, p.cfg.Namespace, p.cfg.Port), nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
