// Package kubedeploy is the GroupDriver of run.kubernetes: each release is one Deployment,
// APP-VERSION, in the spec's namespace, whose pods carry the labels a Service selects
// (app.kubernetes.io/name=APP, cutover.dev/release=VERSION) and a readiness probe on the
// app's health path.
//
// A group is found by its name before it is created, and re-adopted after a restart by its
// labels (List). Every Deployment it makes carries the owner label; it changes or deletes no
// Deployment without it. Writes read the object first and retry on a conflict of
// resourceVersion. Observe reads the Deployment's status and conditions and its pods'
// container states, and reports pods that never get ready, crash loops, image pull errors,
// OOM kills and scheduling failures with their reasons.
//
// It must not know the engine, deployments or traffic.
package kubedeploy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/kube"
)

// Config is what the driver needs of the spec.
type Config struct {
	Namespace, App string
	Port           int32 // the container's port, also $PORT
	// HealthPath is the readiness probe's path ("" for none); the probe runs every
	// HealthInterval, times out after HealthTimeout and counts after the thresholds.
	HealthPath                           string
	HealthInterval, HealthTimeout        time.Duration
	HealthyThreshold, UnhealthyThreshold int
	ServiceAccount, CPU, Memory          string
	Env                                  map[string]string
	// ObserveEvery is how long an Observe of a group is reused: the engine asks every tick
	// (100ms), which would be 20 requests a second per release. Default 500ms; negative
	// for none.
	ObserveEvery time.Duration
	Now          func() time.Time // nil is time.Now
}

// Driver runs releases as Deployments. It is safe for concurrent use.
type Driver struct {
	c   kube.Clients
	cfg Config

	mu   sync.Mutex
	seen map[string]observed // by Deployment name
}

type observed struct {
	at time.Time
	st provider.GroupStatus
}

var _ provider.GroupDriver = (*Driver)(nil)

// New returns a driver over c. It calls no API.
func New(c kube.Clients, cfg Config) (*Driver, error) {
	if cfg.Namespace == "" || cfg.App == "" || cfg.Port == 0 {
		return nil, fmt.Errorf("kubernetes: a driver needs a namespace, an app and a port: %w", provider.ErrInvalid)
	}
	for _, q := range []string{cfg.CPU, cfg.Memory} {
		if q == "" {
			continue
		}
		if _, err := resource.ParseQuantity(q); err != nil {
			return nil, fmt.Errorf("kubernetes: %q is not a quantity: %v: %w", q, err, provider.ErrInvalid)
		}
	}
	if cfg.ObserveEvery == 0 {
		cfg.ObserveEvery = 500 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Driver{c: c, cfg: cfg, seen: map[string]observed{}}, nil
}

// EnsureRelease finds r's Deployment or creates it, at count replicas.
func (d *Driver) EnsureRelease(ctx context.Context, r provider.Release, count int) (provider.Group, error) {
	if !r.Slot.Valid() || r.Image == "" || count < 0 {
		return provider.Group{}, fmt.Errorf("kubernetes: release %s needs a slot, an image and a count: %w", r.Version, provider.ErrInvalid)
	}
	name := kube.DeploymentName(d.cfg.App, r.Version)
	op := fmt.Sprintf("kubernetes: deployment %s/%s", d.cfg.Namespace, name)
	got, err := d.c.Apps.Deployments(d.cfg.Namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		got, err = d.c.Apps.Deployments(d.cfg.Namespace).Create(ctx, d.deployment(name, r, count), metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) { // made by a call whose answer was lost: find it again
			return d.EnsureRelease(ctx, r, count)
		}
		if err != nil {
			return provider.Group{}, kube.CreateErr(op+": create", d.cfg.Namespace, err)
		}
	case err != nil:
		return provider.Group{}, kube.Err(op+": get", err)
	}
	g, err := d.group(got)
	if err != nil {
		return provider.Group{}, err
	}
	if g.Version != r.Version {
		return provider.Group{}, fmt.Errorf("%s runs version %s, not %s (two versions share a name): %w", op, g.Version, r.Version, provider.ErrInvalid)
	}
	if got.Spec.Replicas == nil || int(*got.Spec.Replicas) != count {
		if err := d.Scale(ctx, g, count); err != nil {
			return provider.Group{}, err
		}
	}
	return g, nil
}

// group is the Group of a Deployment cutover made; another's is ErrNotOwned.
func (d *Driver) group(dep *appsv1.Deployment) (provider.Group, error) {
	if !kube.Owned(dep.Labels) || dep.Labels[kube.LabelApp] != d.cfg.App {
		return provider.Group{}, kube.NotOwned("deployment", dep.Namespace, dep.Name)
	}
	v, slot := dep.Annotations[kube.AnnVersion], provider.Slot(dep.Annotations[kube.AnnSlot])
	if v == "" || !slot.Valid() {
		return provider.Group{}, fmt.Errorf("kubernetes: deployment %s/%s has no %s or %s annotation; was it edited? %w", dep.Namespace, dep.Name, kube.AnnVersion, kube.AnnSlot, provider.ErrInvalid)
	}
	return provider.Group{App: d.cfg.App, Version: v, Slot: slot, Ref: dep.Name,
		Backend: provider.Backend{Kind: "kubernetes-release", Ref: kube.ReleaseLabel(v), Version: v}}, nil
}

// podLabels are the labels of a release's pods, which its Services select.
func (d *Driver) podLabels(version string) map[string]string {
	l := kube.OwnerLabels(d.cfg.App)
	l[kube.LabelRelease] = kube.ReleaseLabel(version)
	return l
}

func (d *Driver) deployment(name string, r provider.Release, count int) *appsv1.Deployment {
	pl := d.podLabels(r.Version)
	sel := map[string]string{kube.LabelApp: d.cfg.App, kube.LabelRelease: pl[kube.LabelRelease]}
	ann := map[string]string{kube.AnnVersion: r.Version, kube.AnnSlot: string(r.Slot)}
	n := int32(count)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: d.cfg.Namespace, Labels: maps.Clone(pl), Annotations: ann},
		Spec: appsv1.DeploymentSpec{
			Replicas: &n,
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: pl, Annotations: map[string]string{kube.AnnVersion: r.Version}},
				Spec: corev1.PodSpec{
					ServiceAccountName: d.cfg.ServiceAccount,
					Containers:         []corev1.Container{d.container(r)},
				},
			},
		},
	}
}

func (d *Driver) container(r provider.Release) corev1.Container {
	env := map[string]string{}
	maps.Copy(env, d.cfg.Env)
	maps.Copy(env, r.Env)
	env["PORT"] = strconv.Itoa(int(d.cfg.Port))
	env["CUTOVER_APP"], env["CUTOVER_VERSION"] = d.cfg.App, r.Version
	c := corev1.Container{
		Name:  d.cfg.App,
		Image: r.Image,
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: d.cfg.Port, Protocol: corev1.ProtocolTCP}},
	}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		c.Env = append(c.Env, corev1.EnvVar{Name: k, Value: env[k]})
	}
	if d.cfg.HealthPath != "" {
		c.ReadinessProbe = &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: d.cfg.HealthPath, Port: intstr.FromInt32(d.cfg.Port)}},
			PeriodSeconds:    seconds(d.cfg.HealthInterval),
			TimeoutSeconds:   seconds(d.cfg.HealthTimeout),
			SuccessThreshold: int32(max(d.cfg.HealthyThreshold, 1)),
			FailureThreshold: int32(max(d.cfg.UnhealthyThreshold, 1)),
		}
	}
	if d.cfg.CPU != "" || d.cfg.Memory != "" {
		c.Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
		if d.cfg.CPU != "" {
			c.Resources.Requests[corev1.ResourceCPU] = resource.MustParse(d.cfg.CPU)
		}
		if d.cfg.Memory != "" {
			c.Resources.Requests[corev1.ResourceMemory] = resource.MustParse(d.cfg.Memory)
			c.Resources.Limits[corev1.ResourceMemory] = resource.MustParse(d.cfg.Memory)
		}
	}
	return c
}

// seconds is d in whole seconds for a probe, at least 1.
func seconds(d time.Duration) int32 { return int32(max(1, (d+time.Second-1)/time.Second)) }

// Scale sets g's replicas.
func (d *Driver) Scale(ctx context.Context, g provider.Group, count int) error {
	op := fmt.Sprintf("kubernetes: scale deployment %s/%s to %d", d.cfg.Namespace, g.Ref, count)
	return d.update(ctx, g, op, func(dep *appsv1.Deployment) bool {
		n := int32(count)
		if dep.Spec.Replicas != nil && *dep.Spec.Replicas == n {
			return false
		}
		dep.Spec.Replicas = &n
		return true
	})
}

// update reads g's Deployment, checks it is cutover's, applies change and writes it when
// change says it changed something, retrying on a conflict.
func (d *Driver) update(ctx context.Context, g provider.Group, op string, change func(*appsv1.Deployment) bool) error {
	d.forget(g.Ref)
	api := d.c.Apps.Deployments(d.cfg.Namespace)
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		dep, err := api.Get(ctx, g.Ref, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !kube.Owned(dep.Labels) {
			return kube.NotOwned("deployment", dep.Namespace, dep.Name)
		}
		if !change(dep) {
			return nil
		}
		_, err = api.Update(ctx, dep, metav1.UpdateOptions{})
		return err
	})
	return kube.Err(op, err)
}

// Retire scales g to nothing and deletes it; a Deployment that is gone is retired.
func (d *Driver) Retire(ctx context.Context, g provider.Group) error {
	if err := d.Scale(ctx, g, 0); errors.Is(err, provider.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	bg := metav1.DeletePropagationBackground
	err := d.c.Apps.Deployments(d.cfg.Namespace).Delete(ctx, g.Ref, metav1.DeleteOptions{PropagationPolicy: &bg})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return kube.Err(fmt.Sprintf("kubernetes: delete deployment %s/%s", d.cfg.Namespace, g.Ref), err)
}

// List returns the app's Deployments cutover made.
func (d *Driver) List(ctx context.Context, app string) ([]provider.Group, error) {
	sel := labels.SelectorFromSet(map[string]string{kube.LabelManagedBy: kube.Owner, kube.LabelApp: app}).String()
	l, err := d.c.Apps.Deployments(d.cfg.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, kube.Err(fmt.Sprintf("kubernetes: list %s's deployments in %s", app, d.cfg.Namespace), err)
	}
	var out []provider.Group
	for i := range l.Items {
		g, err := d.group(&l.Items[i])
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}
