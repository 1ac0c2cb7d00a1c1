// Package kube holds what cutover's Kubernetes providers share: the labels that mark the
// objects cutover owns and the release their pods belong to, the names of a release's
// objects, the client configuration (a kubeconfig, or the pod's service account), and the
// mapping of API errors to the provider package's errors.
//
// It must not know the engine, deployments or any one provider.
package kube

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	appsv1 "k8s.io/client-go/kubernetes/typed/apps/v1"
	corev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	discoveryv1 "k8s.io/client-go/kubernetes/typed/discovery/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	gatewayv1 "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/typed/apis/v1"

	"github.com/cutover/cutover/internal/provider"
)

// The labels and annotations cutover puts on what it makes.
const (
	// LabelManagedBy with value Owner marks an object cutover owns: it changes or deletes no
	// object without it.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	Owner          = "cutover"
	// LabelApp names the app of a Deployment, its pods and its Services.
	LabelApp = "app.kubernetes.io/name"
	// LabelRelease is the release a pod belongs to (ReleaseLabel of its version): Services
	// select it.
	LabelRelease = "cutover.dev/release"
	// AnnVersion is a release's version as deployed (a label value cannot hold every version).
	AnnVersion = "cutover.dev/version"
	// AnnSlot is the slot a release's Deployment serves from, blue or green.
	AnnSlot = "cutover.dev/slot"
)

// Owned reports whether labels mark an object as cutover's.
func Owned(labels map[string]string) bool { return labels[LabelManagedBy] == Owner }

// OwnerLabels are the labels of an object of app cutover makes.
func OwnerLabels(app string) map[string]string {
	return map[string]string{LabelManagedBy: Owner, LabelApp: app}
}

var labelValueRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,40}[a-z0-9])?$`)

// ReleaseLabel is version as a label value and name part: the version itself when it is
// lowercase letters, digits, dots and dashes and at most 42 characters, else a cleaned
// prefix with a hash of the version, so that two versions never share a label.
func ReleaseLabel(version string) string {
	if labelValueRE.MatchString(version) {
		return version
	}
	var b strings.Builder
	for _, r := range strings.ToLower(version) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	s := strings.Trim(b.String(), "-.")
	if len(s) > 32 {
		s = strings.Trim(s[:32], "-.")
	}
	sum := sha256.Sum256([]byte(version))
	if s == "" {
		return hex.EncodeToString(sum[:5])
	}
	return s + "-" + hex.EncodeToString(sum[:5])
}

// DeploymentName is the name of the Deployment of app's version.
func DeploymentName(app, version string) string {
	return app + "-" + strings.ReplaceAll(ReleaseLabel(version), ".", "-")
}

// Config is the client configuration from kubeconfig (or, when empty, $KUBECONFIG and
// ~/.kube/config) and context (empty: the current one), falling back to the pod's service
// account in a cluster. hc, when set, is an egress-restricted client whose dialer the
// Kubernetes client uses.
func Config(kubeconfig, context string, hc *http.Client) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context})
	cfg, err := cc.ClientConfig()
	if err != nil {
		where := "$KUBECONFIG or ~/.kube/config, or the pod's service account"
		if kubeconfig != "" {
			where = kubeconfig
		}
		return nil, fmt.Errorf("kubernetes: load the client config from %s: %w (set run.kubernetes.kubeconfig, or run the server with KUBECONFIG)", where, err)
	}
	cfg.UserAgent = "cutover"
	cfg.QPS, cfg.Burst = 20, 40
	if hc != nil {
		if t, ok := hc.Transport.(*http.Transport); ok && t.DialContext != nil {
			cfg.Dial = t.DialContext
		}
	}
	return cfg, nil
}

// Err maps an API error of op to the provider's errors (wrapped, so errors.Is works for
// both): a conflict, throttling, a timeout and a 5xx are ErrThrottled (retry), a missing
// object ErrNotFound, a refusal ErrAccessDenied, a rejected object ErrInvalid. Other errors
// (the connection failed) are ErrUnknownOutcome: a write may have landed.
func Err(op string, err error) error {
	if err == nil {
		return nil
	}
	var kind error
	switch {
	case apierrors.IsConflict(err), apierrors.IsTooManyRequests(err), apierrors.IsServerTimeout(err),
		apierrors.IsTimeout(err), apierrors.IsInternalError(err), apierrors.IsServiceUnavailable(err):
		kind = provider.ErrThrottled
	case apierrors.IsNotFound(err):
		kind = provider.ErrNotFound
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		kind = provider.ErrAccessDenied
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err), apierrors.IsAlreadyExists(err):
		kind = provider.ErrInvalid
	case errors.Is(err, provider.ErrNotOwned), errors.Is(err, provider.ErrInvalid):
		return fmt.Errorf("%s: %w", op, err)
	default:
		kind = provider.ErrUnknownOutcome
	}
	return fmt.Errorf("%s: %w (%w)", op, err, kind)
}

// CreateErr is Err for a create in namespace, saying so when the namespace is missing.
func CreateErr(op, namespace string, err error) error {
	var st apierrors.APIStatus
	if apierrors.IsNotFound(err) && errors.As(err, &st) && st.Status().Details != nil && st.Status().Details.Kind == "namespaces" {
		return fmt.Errorf("%s: namespace %s does not exist: create it (kubectl create namespace %s) or name another in run.kubernetes.namespace: %w",
			op, namespace, namespace, provider.ErrNotFound)
	}
	return Err(op, err)
}

// NotOwned is the error for an object cutover did not make.
func NotOwned(kind, namespace, name string) error {
	return fmt.Errorf("%s %s/%s exists without the label %s=%s: %w; cutover takes over no object it did not make (delete it, label it, or name another in the spec)",
		kind, namespace, name, LabelManagedBy, Owner, provider.ErrNotOwned)
}

// Clients are the typed API clients the providers call: only the API groups they use, so
// the binary links no client for the rest of Kubernetes.
type Clients struct {
	Apps      appsv1.AppsV1Interface
	Core      corev1.CoreV1Interface
	Discovery discoveryv1.DiscoveryV1Interface
	Gateway   gatewayv1.GatewayV1Interface
}

// NewClients returns the clients over cfg.
func NewClients(cfg *rest.Config) (Clients, error) {
	var c Clients
	var err error
	if c.Apps, err = appsv1.NewForConfig(cfg); err != nil {
		return c, fmt.Errorf("kubernetes: apps/v1 client: %w", err)
	}
	if c.Core, err = corev1.NewForConfig(cfg); err != nil {
		return c, fmt.Errorf("kubernetes: core/v1 client: %w", err)
	}
	if c.Discovery, err = discoveryv1.NewForConfig(cfg); err != nil {
		return c, fmt.Errorf("kubernetes: discovery/v1 client: %w", err)
	}
	if c.Gateway, err = gatewayv1.NewForConfig(cfg); err != nil {
		return c, fmt.Errorf("kubernetes: gateway.networking.k8s.io/v1 client: %w", err)
	}
	return c, nil
}
