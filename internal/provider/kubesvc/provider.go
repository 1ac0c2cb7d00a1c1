// Package kubesvc is traffic.service_selector: blue/green by Kubernetes Service selector,
// as Argo Rollouts' blueGreen strategy does it. The production Service selects the pods of
// one release (their cutover.dev/release label): the blue slot's at weight 0, the green
// slot's at 100%. Weights in between are quantised to the nearer of the two, since a Service
// selects one release at a time. The preview Service is the test route: it selects the slot
// the engine points it at (green while a deployment is under way).
//
// The slots' releases, the selector last written and the test route's slot are kept in
// annotations of the production Service, so a restarted server reads them back, and a
// selector that differs from the one written is drift: reported, never overwritten. A write
// counts once the Service's EndpointSlices list ready endpoints of the selected release's
// pods only, and a settle time after that.
//
// It must not know the engine or deployments.
package kubesvc

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/util/retry"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/kube"
)

// The production Service's annotations.
const (
	annBlue    = "cutover.dev/blue"    // the blue slot's release label
	annGreen   = "cutover.dev/green"   // the green slot's release label
	annWritten = "cutover.dev/written" // the release label cutover last selected
	annTest    = "cutover.dev/test"    // the slot the preview Service selects (on the preview Service)
)

// Config is what the provider needs of the spec.
type Config struct {
	Namespace, App   string
	Service, Preview string
	Port, TargetPort int32
	Settle           time.Duration
	Now              func() time.Time // nil is time.Now
}

// Provider moves an app's traffic by Service selector. It is safe for concurrent use.
type Provider struct {
	c   kube.Clients
	cfg Config

	mu         sync.Mutex
	since      time.Time // when the current write was first seen converged
	sinceLabel string    // of the selector it was seen for
}

var (
	_ provider.TrafficProvider = (*Provider)(nil)
	_ provider.TestRouter      = (*Provider)(nil)
)

// New returns a provider over c. It calls no API.
func New(c kube.Clients, cfg Config) (*Provider, error) {
	if cfg.Namespace == "" || cfg.App == "" || cfg.Service == "" || cfg.Preview == "" || cfg.Port == 0 || cfg.TargetPort == 0 {
		return nil, fmt.Errorf("kubernetes: a service_selector provider needs a namespace, an app, two Services and ports: %w", provider.ErrInvalid)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Provider{c: c, cfg: cfg}, nil
}

func (p *Provider) services() typedcorev1.ServiceInterface {
	return p.c.Core.Services(p.cfg.Namespace)
}

// selector selects the pods of the release labelled release ("" selects none).
func (p *Provider) selector(release string) map[string]string {
	return map[string]string{kube.LabelApp: p.cfg.App, kube.LabelRelease: release}
}

// Prepare creates the production and preview Services, or adopts them when they carry
// cutover's owner label; a Service without it is ErrNotOwned and nothing changes.
func (p *Provider) Prepare(ctx context.Context) error {
	for _, name := range []string{p.cfg.Service, p.cfg.Preview} {
		s, err := p.services().Get(ctx, name, metav1.GetOptions{})
		if err == nil && !kube.Owned(s.Labels) {
			return kube.NotOwned("service", p.cfg.Namespace, name)
		}
		if err != nil && !apierrors.IsNotFound(err) {
			return kube.Err(fmt.Sprintf("kubernetes: get service %s/%s", p.cfg.Namespace, name), err)
		}
	}
	for _, name := range []string{p.cfg.Service, p.cfg.Preview} {
		if err := p.ensure(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

func (p *Provider) ensure(ctx context.Context, name string) error {
	_, err := p.services().Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		return nil
	}
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: p.cfg.Namespace, Labels: kube.OwnerLabels(p.cfg.App),
			Annotations: map[string]string{annWritten: ""}},
		Spec: corev1.ServiceSpec{
			Selector: p.selector(""),
			Ports:    []corev1.ServicePort{{Name: "http", Port: p.cfg.Port, TargetPort: intstr.FromInt32(p.cfg.TargetPort), Protocol: corev1.ProtocolTCP}},
		},
	}
	_, err = p.services().Create(ctx, s, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return kube.CreateErr(fmt.Sprintf("kubernetes: create service %s/%s", p.cfg.Namespace, name), p.cfg.Namespace, err)
}

// update reads Service name, checks it is cutover's, applies change and writes it when it
// changed, retrying on a conflict. It returns the Service as written (or read).
func (p *Provider) update(ctx context.Context, name, op string, change func(*corev1.Service)) (*corev1.Service, error) {
	var out *corev1.Service
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		s, err := p.services().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !kube.Owned(s.Labels) {
			return kube.NotOwned("service", s.Namespace, s.Name)
		}
		before := s.DeepCopy()
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		change(s)
		if maps.Equal(before.Annotations, s.Annotations) && maps.Equal(before.Spec.Selector, s.Spec.Selector) {
			out = s
			return nil
		}
		out, err = p.services().Update(ctx, s, metav1.UpdateOptions{})
		return err
	})
	return out, kube.Err(fmt.Sprintf("kubernetes: %s service %s/%s", op, p.cfg.Namespace, name), err)
}

func slotAnn(s provider.Slot) string {
	if s == provider.Green {
		return annGreen
	}
	return annBlue
}

// Bind records that slot serves b's release. When the production Service selects that
// slot, it selects b's release from now on; so does the preview Service.
func (p *Provider) Bind(ctx context.Context, slot provider.Slot, b provider.Backend) error {
	if !slot.Valid() || b.Ref == "" {
		return fmt.Errorf("kubernetes: bind slot %q to release %q: %w", slot, b.Ref, provider.ErrInvalid)
	}
	_, err := p.update(ctx, p.cfg.Service, "bind "+string(slot)+" in", func(s *corev1.Service) {
		old := s.Annotations[slotAnn(slot)]
		s.Annotations[slotAnn(slot)] = b.Ref
		if old != "" && s.Annotations[annWritten] == old {
			s.Annotations[annWritten], s.Spec.Selector = b.Ref, p.selector(b.Ref)
		}
	})
	if err != nil {
		return err
	}
	_, err = p.update(ctx, p.cfg.Preview, "bind "+string(slot)+" in", func(s *corev1.Service) {
		if provider.Slot(s.Annotations[annTest]) == slot {
			s.Spec.Selector = p.selector(b.Ref)
		}
	})
	return err
}

// Release deletes the two Services; a Service that is gone is released.
func (p *Provider) Release(ctx context.Context) error {
	for _, name := range []string{p.cfg.Service, p.cfg.Preview} {
		s, err := p.services().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return kube.Err(fmt.Sprintf("kubernetes: get service %s/%s", p.cfg.Namespace, name), err)
		}
		if !kube.Owned(s.Labels) {
			return kube.NotOwned("service", p.cfg.Namespace, name)
		}
		err = p.services().Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &s.UID}})
		if err != nil && !apierrors.IsNotFound(err) {
			return kube.Err(fmt.Sprintf("kubernetes: delete service %s/%s", p.cfg.Namespace, name), err)
		}
	}
	return nil
}
