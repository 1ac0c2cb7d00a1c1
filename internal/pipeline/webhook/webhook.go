// Package webhook verifies and parses the push webhooks of GitHub, GitLab and Gitea that the
// server receives on POST /api/v1/apps/{app}/pipeline/hooks.
//
// It is the pure half of that endpoint: Parse takes the request's headers and body and the
// app's webhook secret, checks the signature (GitHub, Gitea) or token (GitLab) before it reads
// a byte of the JSON, and returns the Push the payload describes. SameRepo and Push.For tell
// whether the pushed repository is the one an app's spec builds from. Nothing here does I/O.
//
// Parse's errors wrap one of four sentinels, for the server to map to a status code:
// ErrSignature (401), ErrMalformed (400), ErrUnknown (400) and ErrNotPush (202, nothing to do).
package webhook

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Push is what a push webhook says.
type Push struct {
	Provider string   // "github", "gitlab", "gitea"
	Repos    []string // every URL the payload gives for the repository, as sent, without duplicates
	Ref      string   // "refs/heads/main"
	Branch   string   // "main" when Ref is a branch, "" for tags and other refs
	After    string   // the new head commit SHA (40 hex, lower case); all zeros when the ref was deleted
	Deleted  bool     // the push deleted the ref (After all zeros or the payload's deleted:true)
	Author   string   // head commit author name, if given
	Message  string   // head commit message first line, if given
}

// The providers, as Push.Provider names them.
const (
	providerGitHub = "github"
	providerGitLab = "gitlab"
	providerGitea  = "gitea"
)

var (
	// ErrSignature: the signature or token is missing or wrong, or no secret is set. The server answers 401.
	ErrSignature = errors.New("webhook not verified")
	// ErrMalformed: the body is too big, not JSON, or lacks or mistypes a field a push needs. The server answers 400.
	ErrMalformed = errors.New("malformed webhook payload")
	// ErrUnknown: no header says whether GitHub, GitLab or Gitea sent the request. The server answers 400.
	ErrUnknown = errors.New("unknown webhook sender")
	// ErrNotPush: a verified event that is not a push (GitHub's "ping", a GitLab merge request hook...).
	// The server answers 202 and does nothing.
	ErrNotPush = errors.New("webhook event is not a push")
)

// MaxBody is the largest body Parse accepts (1 MiB); the server limits its reader to it.
const MaxBody = 1 << 20

// Event headers, one per provider. Gitea also sends X-GitHub-Event (and X-Gogs-Event), so
// X-Gitea-Event is looked at first.
const (
	headerGitea  = "X-Gitea-Event"
	headerGitLab = "X-Gitlab-Event"
	headerGitHub = "X-GitHub-Event"
)

// Parse verifies the request with secret and parses a push. Verification happens before any
// JSON parsing: an unverified body is never decoded. The error, if any, wraps ErrSignature,
// ErrMalformed, ErrUnknown or ErrNotPush.
func Parse(h http.Header, body []byte, secret []byte) (Push, error) {
	if len(body) > MaxBody {
		return Push{}, fmt.Errorf("%w: the body has %d bytes, more than the %d a push webhook may have", ErrMalformed, len(body), MaxBody)
	}
	provider, event, err := detect(h)
	if err != nil {
		return Push{}, err
	}
	if err := verify(provider, h, body, secret); err != nil {
		return Push{}, err
	}
	var p Push
	switch provider {
	case providerGitLab:
		if event != "Push Hook" && event != "Tag Push Hook" {
			return Push{}, fmt.Errorf("%w: GitLab sent a %q event; only Push Hook and Tag Push Hook start a pipeline", ErrNotPush, event)
		}
		p, err = parseGitLab(body)
	default:
		if !strings.EqualFold(event, "push") {
			return Push{}, fmt.Errorf("%w: %s sent a %q event; only push events start a pipeline", ErrNotPush, displayName(provider), event)
		}
		p, err = parseHub(body)
	}
	if err != nil {
		return Push{}, err
	}
	p.Provider = provider
	return finish(p)
}

// detect names the provider and its event from the event headers.
func detect(h http.Header) (provider, event string, err error) {
	for _, c := range []struct{ header, provider string }{
		{headerGitea, providerGitea}, {headerGitLab, providerGitLab}, {headerGitHub, providerGitHub},
	} {
		if ev := strings.TrimSpace(h.Get(c.header)); ev != "" {
			return c.provider, ev, nil
		}
	}
	return "", "", fmt.Errorf("%w: the request has none of the headers %s, %s or %s; point a GitHub, GitLab or Gitea push webhook at this URL",
		ErrUnknown, headerGitHub, headerGitLab, headerGitea)
}

// finish checks what every provider's push must have and fills Branch and Deleted.
func finish(p Push) (Push, error) {
	name := displayName(p.Provider)
	if p.Ref == "" {
		return Push{}, fmt.Errorf("%w: the %s push payload has no \"ref\"", ErrMalformed, name)
	}
	if strings.ContainsFunc(p.Ref, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return Push{}, fmt.Errorf("%w: the %s push payload's \"ref\" has control characters", ErrMalformed, name)
	}
	if b, ok := strings.CutPrefix(p.Ref, "refs/heads/"); ok {
		if b == "" {
			return Push{}, fmt.Errorf("%w: the %s push payload's \"ref\" %q names no branch", ErrMalformed, name, p.Ref)
		}
		p.Branch = b
	}
	if p.After == "" {
		return Push{}, fmt.Errorf("%w: the %s push payload has no \"after\" commit", ErrMalformed, name)
	}
	if !isSHA(p.After) {
		return Push{}, fmt.Errorf("%w: the %s push payload's \"after\" %q is not a 40-digit hex commit SHA", ErrMalformed, name, clip(p.After))
	}
	p.After = strings.ToLower(p.After)
	if strings.Trim(p.After, "0") == "" {
		p.Deleted = true
	}
	if len(p.Repos) == 0 {
		return Push{}, fmt.Errorf("%w: the %s push payload gives no URL for the repository", ErrMalformed, name)
	}
	return p, nil
}

// For reports whether the push is to the repository at url: any of p.Repos is SameRepo with it.
func (p Push) For(url string) bool {
	for _, r := range p.Repos {
		if SameRepo(r, url) {
			return true
		}
	}
	return false
}

func isSHA(s string) bool {
	if len(s) != 40 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// clip shortens a payload value quoted in an error.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

func displayName(provider string) string {
	switch provider {
	case providerGitHub:
		return "GitHub"
	case providerGitLab:
		return "GitLab"
	case providerGitea:
		return "Gitea"
	}
	return provider
}
