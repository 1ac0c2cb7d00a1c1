package spec

import (
	"regexp"
	"strings"
	"time"
)

// Kubernetes runs each release as a Deployment in one namespace of a cluster cutover reaches
// from outside (a kubeconfig) or from inside (its pod's service account). A release's
// Deployment is named APP-VERSION, labelled app.kubernetes.io/name=APP and
// cutover.dev/release=VERSION, and carries the owner label app.kubernetes.io/managed-by=cutover;
// cutover never changes a Deployment without it. Pods get PORT, CUTOVER_APP and
// CUTOVER_VERSION, a readiness probe on health.path, and run.instances replicas. Requires
// traffic.service_selector or traffic.gateway_api.
type Kubernetes struct {
	// The namespace of the Deployments, Services and HTTPRoute; it must exist.
	//
	// Required.
	// Example: shop
	Namespace string `yaml:"namespace"`

	// The container image of a release; $CUTOVER_VERSION (or ${CUTOVER_VERSION}) is replaced
	// by the version deployed.
	//
	// Required.
	// Example: registry.example.com/web:$CUTOVER_VERSION
	Image string `yaml:"image"`

	// The port the container serves on; the Services send traffic there.
	//
	// Default: 8080.
	// Example: 8000
	Port int `yaml:"port,omitempty" spec:"nonzero"`

	// The kubeconfig file cutover's server uses.
	//
	// Default: $KUBECONFIG, then ~/.kube/config, then the pod's service account when the
	// server runs in the cluster.
	// Example: /etc/cutover/kubeconfig
	Kubeconfig string `yaml:"kubeconfig,omitempty"`

	// The kubeconfig context.
	//
	// Default: the kubeconfig's current context.
	// Example: prod-eu
	Context string `yaml:"context,omitempty"`

	// The pods' service account.
	//
	// Default: the namespace's default.
	// Example: web
	ServiceAccount string `yaml:"service_account,omitempty"`

	// The container's CPU request, a Kubernetes quantity.
	//
	// Default: none.
	// Example: 250m
	CPU string `yaml:"cpu,omitempty"`

	// The container's memory request and limit, a Kubernetes quantity.
	//
	// Default: none.
	// Example: 256Mi
	Memory string `yaml:"memory,omitempty"`

	// Extra environment variables of the container.
	//
	// Default: none.
	// Example: {LOG_LEVEL: info}
	Env map[string]string `yaml:"env,omitempty"`
}

// ServiceSelector is traffic.service_selector: blue/green by Service selector, Argo Rollouts'
// blueGreen. The production Service selects the live release's pods (its cutover.dev/release
// label) and flips to green's at once; the preview Service always selects green, CodeDeploy's
// test listener. cutover creates both Services or adopts ones with its owner label.
type ServiceSelector struct {
	// The production Service.
	//
	// Default: the app's name.
	// Example: web
	Service string `yaml:"service,omitempty"`

	// The preview Service, which selects green while a deployment is under way and the live
	// release between deployments.
	//
	// Default: the service's name with -preview.
	// Example: web-preview
	Preview string `yaml:"preview,omitempty"`

	// The Services' port; it sends to run.kubernetes.port.
	//
	// Default: 80.
	// Example: 8080
	Port int `yaml:"port,omitempty" spec:"nonzero"`

	// How long after the Service's EndpointSlices hold only green's ready pods clients are
	// assumed to reach green only (kube-proxy and load balancers pick up endpoints with a
	// delay). A step's pause starts then.
	//
	// Default: 5s.
	// Example: 30s
	Settle Duration `yaml:"settle,omitempty" spec:"nonzero"`

	// How long a step waits for the selector and the endpoints to follow before it fails
	// with the reason.
	//
	// Default: 5m.
	// Example: 2m
	VerifyTimeout Duration `yaml:"verify_timeout,omitempty" spec:"nonzero"`
}

// GatewayAPI is traffic.gateway_api: weighted steps on a Gateway API HTTPRoute, Argo
// Rollouts' and Flagger's Gateway API canary. cutover owns the HTTPRoute (one rule whose two
// backendRefs are the Services APP-blue and APP-green, each selecting its slot's release)
// and counts a weight only once the gateway reports the route Accepted with its references
// resolved at the route's current generation.
type GatewayAPI struct {
	// The HTTPRoute's name; cutover creates it or adopts one with its owner label.
	//
	// Default: the app's name.
	// Example: web
	Route string `yaml:"route,omitempty"`

	// The Gateway the route attaches to: NAME in run.kubernetes.namespace, or NAMESPACE/NAME.
	//
	// Required.
	// Example: infra/edge
	Gateway string `yaml:"gateway"`

	// The Gateway listener's name (the parentRef's sectionName).
	//
	// Default: every listener that admits the route.
	// Example: https
	Section string `yaml:"section,omitempty"`

	// The route's host names.
	//
	// Default: the Gateway's listeners' host names.
	// Example: [web.example.com]
	Hostnames []string `yaml:"hostnames,omitempty,flow"`

	// The port of the blue and green Services; they send to run.kubernetes.port.
	//
	// Default: 80.
	// Example: 8080
	Port int `yaml:"port,omitempty" spec:"nonzero"`

	// How long after the gateway accepts the route at its generation clients are assumed to
	// see the weights. A step's pause starts then.
	//
	// Default: 2s.
	// Example: 10s
	Settle Duration `yaml:"settle,omitempty" spec:"nonzero"`

	// How long a step waits for the gateway to accept the route's weights before it fails
	// with the gateway's reason.
	//
	// Default: 5m.
	// Example: 2m
	VerifyTimeout Duration `yaml:"verify_timeout,omitempty" spec:"nonzero"`
}

// RuntimeKubernetes names run.kubernetes.
const RuntimeKubernetes = "kubernetes"

// ImageFor is the image of version: $CUTOVER_APP and $CUTOVER_VERSION replaced.
func (k *Kubernetes) ImageFor(app, version string) string {
	return (&Docker{Image: k.Image}).ImageFor(app, version)
}

// GatewayRef splits traffic.gateway_api.gateway into its namespace (run.kubernetes's when
// not given) and name.
func (g *GatewayAPI) GatewayRef(namespace string) (string, string) {
	if ns, name, ok := strings.Cut(g.Gateway, "/"); ok {
		return ns, name
	}
	return namespace, g.Gateway
}

var (
	kubeLabelRE    = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	kubeQuantityRE = bounded(`^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$`, 32)
	kubeHostRE     = bounded(`^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`, 253)
)

const (
	kubeNameRules    = "lowercase letters, digits and dashes, 1-63 characters, starting and ending with a letter or digit"
	serviceNameRules = "lowercase letters, digits and dashes, 1-63 characters, starting with a letter and ending with a letter or digit"
)

var serviceNameRE = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)

func serviceName(c *checker, path, v string) {
	if !serviceNameRE.MatchString(v) {
		c.add(path, "%q is not a Service name: use %s", clip(v), serviceNameRules)
	}
}

func kubeName(c *checker, path, v string) {
	if !kubeLabelRE.MatchString(v) {
		c.add(path, "%q is not a Kubernetes name: use %s", clip(v), kubeNameRules)
	}
}

func (k *Kubernetes) defaults() {
	fill(&k.Port, 8080)
	if len(k.Env) == 0 {
		k.Env = nil
	}
}

func (k *Kubernetes) validate(c *checker, path string, a *App) {
	if k.Namespace == "" {
		c.add(path+".namespace", "required: the namespace of the release's Deployments (%s)", kubeNameRules)
	} else {
		kubeName(c, path+".namespace", k.Namespace)
	}
	if k.Image == "" {
		c.add(path+".image", "required: the container image, like registry.example.com/web:$CUTOVER_VERSION")
	} else if strings.ContainsAny(k.Image, " \t\n") {
		c.add(path+".image", "%q is not an image reference: it has white space", clip(k.Image))
	}
	if k.Port < 1 || k.Port > 65535 {
		c.add(path+".port", "must be a port, 1 to 65535, got %d", k.Port)
	}
	if k.ServiceAccount != "" {
		kubeName(c, path+".service_account", k.ServiceAccount)
	}
	for _, q := range []struct{ field, v string }{{"cpu", k.CPU}, {"memory", k.Memory}} {
		if q.v != "" && !kubeQuantityRE.MatchString(q.v) {
			c.add(path+"."+q.field, "%q is not a Kubernetes quantity, like 250m, 0.5 or 256Mi", clip(q.v))
		}
	}
	c.env(path+".env", k.Env)
	if a.Traffic.ServiceSelector == nil && a.Traffic.GatewayAPI == nil {
		c.add(path, "run.kubernetes needs traffic.service_selector (blue/green) or traffic.gateway_api (weighted steps)")
	}
}

func (s *ServiceSelector) defaults(app string) {
	fill(&s.Service, app)
	fill(&s.Preview, s.Service+"-preview")
	fill(&s.Port, 80)
	fill(&s.Settle, Duration(5*time.Second))
	fill(&s.VerifyTimeout, Duration(5*time.Minute))
}

func (s *ServiceSelector) validate(c *checker, a *App) {
	p := "traffic.service_selector"
	serviceName(c, p+".service", s.Service)
	serviceName(c, p+".preview", s.Preview)
	if s.Preview == s.Service {
		c.add(p+".preview", "is the production Service too: the preview Service needs its own name")
	}
	if s.Port < 1 || s.Port > 65535 {
		c.add(p+".port", "must be a port, 1 to 65535, got %d", s.Port)
	}
	if s.VerifyTimeout <= s.Settle {
		c.add(p+".verify_timeout", "%s is not more than settle (%s): a step could never count", s.VerifyTimeout, s.Settle)
	}
	if a.Run.Kubernetes == nil {
		c.add(p, "selects the pods of run.kubernetes's releases: set run.kubernetes")
	}
	for _, st := range a.Steps() {
		if st.Weight < 100 {
			c.add("strategy", "a Service selects one release at a time, so traffic.service_selector moves all traffic at once: use strategy.bluegreen (or preset AllAtOnce), or traffic.gateway_api for a %g%% step", st.Weight)
			break
		}
	}
}

func (g *GatewayAPI) defaults(app string) {
	fill(&g.Route, app)
	fill(&g.Port, 80)
	fill(&g.Settle, Duration(2*time.Second))
	fill(&g.VerifyTimeout, Duration(5*time.Minute))
	if len(g.Hostnames) == 0 {
		g.Hostnames = nil
	}
}

func (g *GatewayAPI) validate(c *checker, a *App) {
	p := "traffic.gateway_api"
	kubeName(c, p+".route", g.Route)
	if g.Gateway == "" {
		c.add(p+".gateway", "required: the Gateway the route attaches to, NAME or NAMESPACE/NAME")
	} else {
		ns, name := g.GatewayRef("default")
		if !kubeLabelRE.MatchString(ns) || !kubeLabelRE.MatchString(name) {
			c.add(p+".gateway", "%q is not NAME or NAMESPACE/NAME (%s)", clip(g.Gateway), kubeNameRules)
		}
	}
	if g.Section != "" {
		kubeName(c, p+".section", g.Section)
	}
	for i, h := range g.Hostnames {
		if !kubeHostRE.MatchString(h) {
			c.add(index(p+".hostnames", i), "%q is not a host name like web.example.com or *.example.com", clip(h))
		}
	}
	if g.Port < 1 || g.Port > 65535 {
		c.add(p+".port", "must be a port, 1 to 65535, got %d", g.Port)
	}
	if !serviceNameRE.MatchString(a.Name + "-green") {
		c.add("app", "%q makes the Services %s-blue and %s-green, which are not Service names (%s): use a shorter name starting with a letter", a.Name, a.Name, a.Name, serviceNameRules)
	}
	if g.VerifyTimeout <= g.Settle {
		c.add(p+".verify_timeout", "%s is not more than settle (%s): a step could never count", g.VerifyTimeout, g.Settle)
	}
	if a.Run.Kubernetes == nil {
		c.add(p, "routes to the Services of run.kubernetes's releases: set run.kubernetes")
	}
}
