package kubetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
)

// The stand-in Gateway API controller: it plays the status writer of the gateway
// implementation for GatewayClasses with this controller name.
const (
	ControllerName   = "cutover.dev/kubetest"
	GatewayClassName = "kubetest"
	// RejectAnnotation on a Gateway makes the stand-in report its routes Accepted=False
	// with the annotation's value as the reason (e.g. NotAllowedByListeners).
	RejectAnnotation = "kubetest.cutover.dev/reject"
)

// resync is how often the stand-in reconciles every HTTPRoute even without a watch event
// (a Service or Gateway change does not touch the route).
const resync = 200 * time.Millisecond

// gatewayController writes HTTPRoute status.parents for parents it owns.
type gatewayController struct {
	kube kubernetes.Interface
	gw   gatewayclient.Interface

	pass    sync.Mutex // held for a whole reconcile pass; PauseGateway takes it
	paused  atomic.Bool
	lastErr atomic.Pointer[string]
	kick    chan struct{}
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func startGatewayController(kube kubernetes.Interface, gw gatewayclient.Interface) *gatewayController {
	ctx, cancel := context.WithCancel(context.Background())
	g := &gatewayController{kube: kube, gw: gw, kick: make(chan struct{}, 1), cancel: cancel}
	g.wg.Add(2)
	go func() { defer g.wg.Done(); g.watch(ctx) }()
	go func() { defer g.wg.Done(); g.run(ctx) }()
	return g
}

func (g *gatewayController) stop() {
	g.cancel()
	g.wg.Wait()
}

func (g *gatewayController) poke() {
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// watch pokes the reconcile loop on every HTTPRoute event, re-watching after an error.
func (g *gatewayController) watch(ctx context.Context) {
	for ctx.Err() == nil {
		w, err := g.gw.GatewayV1().HTTPRoutes("").Watch(ctx, metav1.ListOptions{})
		if err == nil {
			for range w.ResultChan() {
				g.poke()
			}
			w.Stop()
		}
		select {
		case <-ctx.Done():
		case <-time.After(resync):
		}
	}
}

func (g *gatewayController) run(ctx context.Context) {
	tick := time.NewTicker(resync)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-g.kick:
		}
		g.pass.Lock()
		if !g.paused.Load() {
			if err := g.reconcileAll(ctx); err != nil && ctx.Err() == nil {
				msg := err.Error()
				g.lastErr.Store(&msg)
			}
		}
		g.pass.Unlock()
	}
}

// PauseGateway stops (true) or resumes (false) the stand-in's HTTPRoute status writes.
// When PauseGateway(true) returns, no write is in flight and none follows until resumed.
func (c *Cluster) PauseGateway(paused bool) {
	c.gw.pass.Lock()
	c.gw.paused.Store(paused)
	c.gw.pass.Unlock()
	if !paused {
		c.gw.poke()
	}
}

// snapshot is what one reconcile pass reads besides the routes: four LISTs per pass
// however many routes there are, and consistent reads (no informer cache lag).
type snapshot struct {
	gateways map[string]*gatewayv1.Gateway      // "ns/name"
	classes  map[string]*gatewayv1.GatewayClass // name
	services map[string]bool                    // "ns/name"
}

func (g *gatewayController) snapshot(ctx context.Context) (*snapshot, error) {
	s := &snapshot{gateways: map[string]*gatewayv1.Gateway{}, classes: map[string]*gatewayv1.GatewayClass{}, services: map[string]bool{}}
	gws, err := g.gw.GatewayV1().Gateways("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("gateway stand-in: listing Gateways: %w", err)
	}
	for i := range gws.Items {
		s.gateways[gws.Items[i].Namespace+"/"+gws.Items[i].Name] = &gws.Items[i]
	}
	gcs, err := g.gw.GatewayV1().GatewayClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("gateway stand-in: listing GatewayClasses: %w", err)
	}
	for i := range gcs.Items {
		s.classes[gcs.Items[i].Name] = &gcs.Items[i]
	}
	svcs, err := g.kube.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("gateway stand-in: listing Services: %w", err)
	}
	for _, svc := range svcs.Items {
		s.services[svc.Namespace+"/"+svc.Name] = true
	}
	return s, nil
}

func (g *gatewayController) reconcileAll(ctx context.Context) error {
	routes, err := g.gw.GatewayV1().HTTPRoutes("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("gateway stand-in: listing HTTPRoutes: %w", err)
	}
	if len(routes.Items) == 0 {
		return nil
	}
	snap, err := g.snapshot(ctx)
	if err != nil {
		return err
	}
	var first error
	for i := range routes.Items {
		r := &routes.Items[i]
		if err := g.reconcile(ctx, snap, r); err != nil && first == nil {
			first = fmt.Errorf("gateway stand-in: HTTPRoute %s/%s: %w", r.Namespace, r.Name, err)
		}
	}
	return first
}

// reconcile writes the route's status.parents entries of this controller, if they
// changed; on a conflict it re-reads the route and tries again.
func (g *gatewayController) reconcile(ctx context.Context, snap *snapshot, route *gatewayv1.HTTPRoute) error {
	routes := g.gw.GatewayV1().HTTPRoutes(route.Namespace)
	name, fresh := route.Name, route
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		r := fresh
		fresh = nil
		if r == nil {
			var err error
			if r, err = routes.Get(ctx, name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
				return nil
			} else if err != nil {
				return err
			}
		}
		parents := snap.parents(r)
		if equality.Semantic.DeepEqual(parents, r.Status.Parents) {
			return nil
		}
		if parents == nil {
			parents = []gatewayv1.RouteParentStatus{} // status.parents is required: [] not null
		}
		r.Status.Parents = parents
		_, err := routes.UpdateStatus(ctx, r, metav1.UpdateOptions{})
		return err
	})
}
