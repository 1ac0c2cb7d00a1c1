package webhook

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// fuzzHeaders builds the headers of a request from provider, event and how it is signed:
// sig 0 signs it right, 1 leaves the signature out, anything else signs it wrong.
func fuzzHeaders(provider uint8, event string, body []byte, sig uint8) http.Header {
	good, bad := sign(testSecret, body), sign("not the secret", body)
	s := good
	if sig > 1 {
		s = bad
	}
	h := http.Header{}
	switch provider % 4 {
	case 0:
		h.Set("X-GitHub-Event", event)
		if sig != 1 {
			h.Set("X-Hub-Signature-256", "sha256="+s)
		}
	case 1:
		h.Set("X-Gitea-Event", event)
		h.Set("X-GitHub-Event", event)
		if sig != 1 {
			h.Set("X-Gitea-Signature", s)
		}
	case 2:
		h.Set("X-Gitlab-Event", event)
		switch {
		case sig == 0:
			h.Set("X-Gitlab-Token", testSecret)
		case sig > 1:
			h.Set("X-Gitlab-Token", "not the secret")
		}
	default: // no provider header
		h.Set("X-Hub-Signature-256", "sha256="+s)
	}
	return h
}

func FuzzParse(f *testing.F) {
	for _, seed := range []struct {
		file     string
		provider uint8
		event    string
	}{
		{"github-push.json", 0, "push"}, {"github-tag-push.json", 0, "push"}, {"github-delete.json", 0, "push"},
		{"github-ping.json", 0, "ping"}, {"gitea-push.json", 1, "push"},
		{"gitlab-push.json", 2, "Push Hook"}, {"gitlab-tag-push.json", 2, "Tag Push Hook"}, {"gitlab-delete.json", 2, "Push Hook"},
	} {
		f.Add(seed.provider, seed.event, fixture(f, seed.file), uint8(0))
	}
	f.Add(uint8(0), "push", []byte(`{"ref":"refs/heads/a","after":"0000000000000000000000000000000000000000","repository":{"url":"x"}}`), uint8(0))
	f.Add(uint8(2), "Push Hook", []byte(`{"ref":"r","after":"`+strings.Repeat("f", 40)+`","project":{"web_url":"h/o/r"},"commits":[{}]}`), uint8(0))
	f.Add(uint8(3), "push", []byte(`{}`), uint8(0))
	f.Add(uint8(0), "push", []byte(`null`), uint8(2))

	f.Fuzz(func(t *testing.T, provider uint8, event string, body []byte, sig uint8) {
		p, err := Parse(fuzzHeaders(provider, event, body, sig), body, []byte(testSecret))
		if err != nil {
			if !errors.Is(err, ErrSignature) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknown) && !errors.Is(err, ErrNotPush) {
				t.Fatalf("error %v wraps none of the sentinels", err)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Fatalf("error %q quotes the secret", err)
			}
			return
		}
		if sig != 0 {
			t.Fatalf("a request signed wrong or not at all was accepted: %+v", p)
		}
		switch p.Provider {
		case "github", "gitlab", "gitea":
		default:
			t.Fatalf("Provider = %q", p.Provider)
		}
		if !isSHA(p.After) && !p.Deleted {
			t.Fatalf("After = %q is not 40 hex and the push is not a deletion", p.After)
		}
		if p.Ref == "" || len(p.Repos) == 0 {
			t.Fatalf("a push without Ref or Repos: %+v", p)
		}
		if b, ok := strings.CutPrefix(p.Ref, "refs/heads/"); !ok && p.Branch != "" || ok && b != p.Branch {
			t.Fatalf("Ref %q gives Branch %q", p.Ref, p.Branch)
		}
		if strings.Trim(p.After, "0") == "" && !p.Deleted {
			t.Fatalf("After is all zeros but Deleted is false")
		}
		if strings.Contains(p.Message, "\n") {
			t.Fatalf("Message %q is more than a line", p.Message)
		}
	})
}

func FuzzSameRepo(f *testing.F) {
	for _, u := range []string{
		"https://github.com/acme/shop.git", "git@github.com:acme/shop.git", "ssh://git@host:2222/o/r.git",
		"git://github.com/acme/shop", "github.com/acme/shop", "/srv/git/shop.git", "file:///srv/git/shop",
		"./shop", "~/shop", `C:\repos\shop`, "https://github.com/", "[::1]:o/r", "https://u:p@[::1]:8080/o/r/",
		"", "::", "@:", "file:", "https://h/%zz", "0/:/",
	} {
		f.Add(u, "https://github.com/acme/shop")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, ba := SameRepo(a, b), SameRepo(b, a)
		if ab != ba {
			t.Fatalf("SameRepo(%q, %q) = %v but swapped = %v", a, b, ab, ba)
		}
		if _, ok := repoKey(a); ok {
			if !SameRepo(a, a) {
				t.Fatalf("SameRepo(%q, itself) = false", a)
			}
			if a2 := strings.TrimSpace(a) + "/"; !SameRepo(a, a2) {
				t.Fatalf("SameRepo(%q, %q) = false: a trailing / changed the repository", a, a2)
			}
		} else if ab {
			t.Fatalf("SameRepo(%q, %q) = true though %q names no repository", a, b, a)
		}
	})
}
