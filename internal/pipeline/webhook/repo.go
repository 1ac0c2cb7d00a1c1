package webhook

import (
	"net/url"
	"path"
	"strings"
)

// SameRepo reports whether a repository URL from a payload names the repository at url (the
// spec's source.repo).
//
// Remote URLs compare by host and repository path only: the scheme (https, http, ssh, git...),
// any "user@" or "user:password@" part, the port, a query or fragment, a trailing ".git" and
// trailing "/" are ignored, and so are case differences, in the host and in the path (GitHub,
// GitLab and Gitea all treat owner and repository names case-insensitively). The scp-like form
// "git@host:owner/repo.git" and the scheme-less "host/owner/repo" are understood too. A URL
// with no repository path ("https://github.com/") names no repository and matches nothing.
//
// Local paths ("/srv/git/app.git", "./app", "~/app") and file:// URLs compare by cleaned path,
// case-sensitively, keeping any ".git".
func SameRepo(payloadURL, url string) bool {
	a, ok := repoKey(payloadURL)
	if !ok {
		return false
	}
	b, ok := repoKey(url)
	return ok && a == b
}

// repoKey reduces a repository URL to the string that names the repository, or reports that
// s names none.
func repoKey(s string) (string, bool) {
	// Trailing slashes first: "0/:" plus one more "/" would otherwise read as a scheme's "://".
	s = strings.TrimRight(strings.TrimSpace(s), "/")
	switch {
	case s == "":
		return "", false
	case hasPrefixFold(s, "file:"):
		u, err := url.Parse(s)
		if err != nil {
			return "", false
		}
		if u.Opaque != "" { // "file:relative/path"
			return localKey(u.Opaque)
		}
		return localKey(u.Path)
	case isLocalPath(s):
		return localKey(s)
	case strings.Contains(s, "://"):
		u, err := url.Parse(s)
		if err != nil {
			return "", false
		}
		return remoteKey(u.Hostname(), u.Path)
	}
	colon, slash := strings.IndexByte(s, ':'), strings.IndexByte(s, '/')
	if colon >= 0 && (slash < 0 || colon < slash) { // scp-like: [user@]host:path
		return remoteKey(withoutUser(s[:colon]), s[colon+1:])
	}
	if slash < 0 { // a bare word: no host and repository path
		return "", false
	}
	return remoteKey(withoutUser(s[:slash]), s[slash:]) // host/owner/repo
}

// remoteKey builds the key of a repository on a server.
func remoteKey(host, p string) (string, bool) {
	host = strings.ToLower(strings.Trim(host, "[]"))
	if host == "" {
		return "", false
	}
	p = strings.ToLower(path.Clean("/" + p))
	p = strings.TrimSuffix(p, ".git")
	p = strings.TrimRight(p, "/")
	if p == "" {
		return "", false
	}
	return "remote:" + host + p, true
}

// localKey builds the key of a repository on a file system.
func localKey(p string) (string, bool) {
	if p == "" {
		return "", false
	}
	return "local:" + path.Clean(p), true
}

// isLocalPath reports whether s is a file system path rather than a URL.
func isLocalPath(s string) bool {
	switch {
	case s == "." || s == ".." || s == "~",
		strings.HasPrefix(s, "/"), strings.HasPrefix(s, "./"), strings.HasPrefix(s, "../"), strings.HasPrefix(s, "~/"):
		return true
	case len(s) >= 3 && s[1] == ':' && (s[2] == '\\' || s[2] == '/') && isLetter(s[0]): // C:\repo, C:/repo
		return true
	}
	return false
}

// withoutUser drops a "user@" from an scp-like or scheme-less host.
func withoutUser(host string) string {
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		return host[i+1:]
	}
	return host
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
