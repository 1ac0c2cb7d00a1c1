package gitsrc

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestNewRefuses(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "mirror")
	for _, tc := range []struct{ url, branch, says string }{
		{"-oProxyCommand=touch /tmp/pwned", "main", "option"},
		{"ext::sh -c x", "main", "remote helper"},
		{"fd::3", "main", "remote helper"},
		{"", "main", "no repository"},
		{"ftp://host/repo.git", "main", "transport"},
		{"HTTPS://host/repo.git", "main", "transport"},
		{"ssh://-oProxyCommand=x/repo", "main", "option"},
		{"ssh://git@/repo", "main", "no host"},
		{"-x@host:repo", "main", "option"},
		{"git@-oProxyCommand=x:repo", "main", "option"},
		{"git@host:", "main", "no path"},
		{"https://host/repo\n.git", "main", "control character"},
		{"/srv/repo", "-x", "option"},
		{"/srv/repo", "a..b", "not a valid branch name"},
		{"/srv/repo", "", "no branch"},
		{"/srv/repo", "HEAD", "not a valid branch name"},
		{"/srv/repo", "@{-1}", "not a valid branch name"},
		{"/srv/repo", "a b", "not a valid branch name"},
	} {
		s, err := New(tc.url, tc.branch, cache)
		if err == nil {
			t.Errorf("New(%q, %q) = %v; want it refused", tc.url, tc.branch, s)
			continue
		}
		if !strings.Contains(err.Error(), tc.says) || !strings.Contains(err.Error(), "check pipeline.source.") {
			t.Errorf("New(%q, %q): %v; want it to say %q and what to check", tc.url, tc.branch, err, tc.says)
		}
	}
}

func TestNewAccepts(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "mirror")
	for _, url := range []string{
		"https://git.example.com/shop/web.git",
		"http://[::1]:8080/web.git",
		"ssh://git@git.example.com:2222/shop/web.git",
		"git://git.example.com/web.git",
		"git@github.com:shop/web.git",
		"file:///srv/git/web.git",
		"/srv/git/web.git",
		"relative/web",
	} {
		for _, branch := range []string{"main", "release/2024-05", "feature.x"} {
			if _, err := New(url, branch, cache); err != nil {
				t.Errorf("New(%q, %q): %v", url, branch, err)
			}
		}
	}
	s, err := New("relative/web", "main", "cache")
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(s.remote) || !filepath.IsAbs(s.mirror) {
		t.Errorf("relative paths kept as %q and %q; want them absolute, free of later chdirs", s.remote, s.mirror)
	}
}
