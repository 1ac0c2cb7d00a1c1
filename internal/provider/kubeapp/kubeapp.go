// Package kubeapp opens the Kubernetes side of an app spec: the group driver of
// run.kubernetes (a Deployment per release) and the traffic provider of
// traffic.service_selector or traffic.gateway_api, over one client configuration (the
// spec's kubeconfig and context, $KUBECONFIG, ~/.kube/config, or the pod's service account).
//
// It is composition only: it maps the spec's fields to the providers' configs. It must not
// know the engine or deployments.
package kubeapp

import (
	"fmt"
	"net/http"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/kube"
	"github.com/cutover/cutover/internal/provider/kubedeploy"
	"github.com/cutover/cutover/internal/provider/kubegw"
	"github.com/cutover/cutover/internal/provider/kubesvc"
	"github.com/cutover/cutover/internal/spec"
)

// App is the Kubernetes side of one app.
type App struct {
	Traffic provider.TrafficProvider
	Groups  provider.GroupDriver
}

// Open returns a's providers. hc, if set, is the egress-restricted client whose dialer the
// calls use. It calls no API; the providers' Prepare and EnsureRelease do.
func Open(a *spec.App, hc *http.Client) (App, error) {
	k := a.Run.Kubernetes
	if k == nil {
		return App{}, fmt.Errorf("kubernetes: %s has no run.kubernetes: %w", a.Name, provider.ErrInvalid)
	}
	cfg, err := kube.Config(k.Kubeconfig, k.Context, hc)
	if err != nil {
		return App{}, err
	}
	c, err := kube.NewClients(cfg)
	if err != nil {
		return App{}, err
	}
	h := a.Health
	drv, err := kubedeploy.New(c, kubedeploy.Config{
		Namespace: k.Namespace, App: a.Name, Port: int32(k.Port),
		HealthPath: h.Path, HealthInterval: h.Interval.Duration(), HealthTimeout: h.Timeout.Duration(),
		HealthyThreshold: h.HealthyThreshold, UnhealthyThreshold: h.UnhealthyThreshold,
		ServiceAccount: k.ServiceAccount, CPU: k.CPU, Memory: k.Memory, Env: k.Env,
	})
	if err != nil {
		return App{}, err
	}
	out := App{Groups: drv}
	switch t := a.Traffic; {
	case t.ServiceSelector != nil:
		s := t.ServiceSelector
		out.Traffic, err = kubesvc.New(c, kubesvc.Config{Namespace: k.Namespace, App: a.Name, Service: s.Service, Preview: s.Preview,
			Port: int32(s.Port), TargetPort: int32(k.Port), Settle: s.Settle.Duration()})
	case t.GatewayAPI != nil:
		g := t.GatewayAPI
		gns, gname := g.GatewayRef(k.Namespace)
		out.Traffic, err = kubegw.New(c, kubegw.Config{Namespace: k.Namespace, App: a.Name, Route: g.Route,
			GatewayNamespace: gns, Gateway: gname, Section: g.Section, Hostnames: g.Hostnames,
			Port: int32(g.Port), TargetPort: int32(k.Port), Settle: g.Settle.Duration()})
	default:
		return App{}, fmt.Errorf("kubernetes: %s needs traffic.service_selector or traffic.gateway_api: %w", a.Name, provider.ErrInvalid)
	}
	if err != nil {
		return App{}, err
	}
	return out, nil
}
