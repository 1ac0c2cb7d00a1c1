package kube

import (
	"errors"
	"regexp"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cutover/cutover/internal/provider"
)

func TestReleaseLabel(t *testing.T) {
	seen := map[string]string{}
	for _, v := range []string{"v1", "v1.2.3", "V1", "v1_2", "2026-12-07", "A", "_x", "a.", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz0123456789"} {
		l := ReleaseLabel(v)
		if !validLabel.MatchString(l) {
			t.Errorf("ReleaseLabel(%q) = %q: not a label value", v, l)
		}
		if prev, ok := seen[l]; ok {
			t.Errorf("%q and %q share the label %q", prev, v, l)
		}
		seen[l] = v
		if n := DeploymentName("web", v); len(n) > 63+1+42 {
			t.Errorf("DeploymentName(web, %q) = %q: too long", v, n)
		}
	}
	if ReleaseLabel("v1.2.3") != "v1.2.3" || DeploymentName("web", "v1.2.3") != "web-v1-2-3" {
		t.Fatalf("a plain version is kept: %s %s", ReleaseLabel("v1.2.3"), DeploymentName("web", "v1.2.3"))
	}
}

func TestErr(t *testing.T) {
	gr := schema.GroupResource{Group: "apps", Resource: "deployments"}
	for _, c := range []struct {
		err  error
		want error
	}{
		{apierrors.NewConflict(gr, "web-v1", errors.New("changed")), provider.ErrThrottled},
		{apierrors.NewTooManyRequests("slow down", 1), provider.ErrThrottled},
		{apierrors.NewNotFound(gr, "web-v1"), provider.ErrNotFound},
		{apierrors.NewForbidden(gr, "web-v1", errors.New("rbac")), provider.ErrAccessDenied},
		{apierrors.NewBadRequest("no"), provider.ErrInvalid},
		{errors.New("connection reset"), provider.ErrUnknownOutcome},
	} {
		got := Err("update", c.err)
		if !errors.Is(got, c.want) {
			t.Errorf("Err(%v) = %v, want %v", c.err, got, c.want)
		}
	}
	if got := Err("create", NotOwned("Service", "shop", "web")); !errors.Is(got, provider.ErrNotOwned) || provider.Classify(got) != provider.Permanent {
		t.Fatalf("not owned: %v", got)
	}
	if Err("x", nil) != nil {
		t.Fatal("nil stays nil")
	}
}

// validLabel is Kubernetes's rule for a label value that is also a DNS label.
var validLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$`)
