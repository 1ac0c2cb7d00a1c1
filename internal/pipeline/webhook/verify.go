package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
)

// Signature headers.
const (
	headerHubSHA256 = "X-Hub-Signature-256" // GitHub, and Gitea too: "sha256=<hex>"
	headerHubSHA1   = "X-Hub-Signature"     // GitHub's legacy SHA-1 signature, never accepted
	headerGiteaSig  = "X-Gitea-Signature"   // Gitea: "<hex>"
	headerGitLabTok = "X-Gitlab-Token"      // GitLab: the secret itself
)

// verify checks the request's signature or token against secret. An empty secret never
// verifies. Errors wrap ErrSignature and quote neither the secret nor any signature.
func verify(provider string, h http.Header, body, secret []byte) error {
	if len(secret) == 0 {
		return fmt.Errorf("%w: the app has no webhook secret, so no request can be verified; set one and enter the same secret in the repository's webhook settings", ErrSignature)
	}
	switch provider {
	case providerGitLab:
		return verifyToken(h, secret)
	case providerGitea:
		if v := h.Get(headerGiteaSig); v != "" {
			return verifyHMAC(headerGiteaSig, strings.TrimPrefix(strings.TrimSpace(v), "sha256="), body, secret, "Gitea")
		}
		if v := h.Get(headerHubSHA256); v != "" {
			return verifyHubSignature(v, body, secret, "Gitea")
		}
		return fmt.Errorf("%w: the Gitea request has neither %s nor %s; set the app's webhook secret as the webhook's Secret in the repository's settings",
			ErrSignature, headerGiteaSig, headerHubSHA256)
	default:
		v := h.Get(headerHubSHA256)
		if v == "" {
			if h.Get(headerHubSHA1) != "" {
				return fmt.Errorf("%w: the request is signed only with the SHA-1 %s; cutover needs %s, which GitHub sends whenever the webhook has a secret",
					ErrSignature, headerHubSHA1, headerHubSHA256)
			}
			return fmt.Errorf("%w: the GitHub request has no %s header; set the app's webhook secret as the webhook's Secret in the repository's settings",
				ErrSignature, headerHubSHA256)
		}
		return verifyHubSignature(v, body, secret, "GitHub")
	}
}

// verifyHubSignature checks an X-Hub-Signature-256 value, "sha256=<hex>".
func verifyHubSignature(v string, body, secret []byte, sender string) error {
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(v), "sha256=")
	if !ok {
		return fmt.Errorf("%w: %s is not of the form sha256=<hex digest>", ErrSignature, headerHubSHA256)
	}
	return verifyHMAC(headerHubSHA256, hexSig, body, secret, sender)
}

// verifyHMAC checks that hexSig is the hex HMAC-SHA256 of body keyed with secret.
func verifyHMAC(header, hexSig string, body, secret []byte, sender string) error {
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: %s is not a hex HMAC-SHA256 digest", ErrSignature, header)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return fmt.Errorf("%w: %s does not match the body signed with the app's webhook secret; check the secret set in the %s repository's webhook settings (and that no proxy rewrites the body)",
			ErrSignature, header, sender)
	}
	return nil
}

// verifyToken checks GitLab's X-Gitlab-Token, which carries the secret itself. Both sides are
// hashed first so that the comparison takes the same time whatever their lengths.
func verifyToken(h http.Header, secret []byte) error {
	tok := h.Get(headerGitLabTok)
	if tok == "" {
		return fmt.Errorf("%w: the GitLab request has no %s header; set the app's webhook secret as the webhook's Secret token in the project's settings",
			ErrSignature, headerGitLabTok)
	}
	got, want := sha256.Sum256([]byte(tok)), sha256.Sum256(secret)
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return fmt.Errorf("%w: %s is not the app's webhook secret; check the Secret token set in the GitLab project's webhook settings",
			ErrSignature, headerGitLabTok)
	}
	return nil
}
