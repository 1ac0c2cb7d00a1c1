package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const testSecret = "It's a Secret to Everybody"

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// edit returns fixture name with change applied to its top-level object.
func edit(t testing.TB, name string, change func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(fixture(t, name), &m); err != nil {
		t.Fatal(err)
	}
	change(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// The ways a request is signed, given the body as it was signed.
func githubSigned(event string) func([]byte) http.Header {
	return func(b []byte) http.Header {
		return header("X-GitHub-Event", event, "X-Hub-Signature-256", "sha256="+sign(testSecret, b))
	}
}

// giteaSigned sets the headers Gitea sends: its own, and GitHub's and Gogs' copies.
func giteaSigned(event string) func([]byte) http.Header {
	return func(b []byte) http.Header {
		s := sign(testSecret, b)
		return header("X-Gitea-Event", event, "X-GitHub-Event", event, "X-Gogs-Event", event,
			"X-Gitea-Signature", s, "X-Gogs-Signature", s, "X-Hub-Signature-256", "sha256="+s)
	}
}

func gitlabSigned(event string) func([]byte) http.Header {
	return func([]byte) http.Header { return header("X-Gitlab-Event", event, "X-Gitlab-Token", testSecret) }
}

func fixed(h http.Header) func([]byte) http.Header { return func([]byte) http.Header { return h } }

var (
	githubRepos = []string{"https://github.com/acme/shop.git", "git@github.com:acme/shop.git",
		"https://github.com/acme/shop", "git://github.com/acme/shop.git"}
	gitlabRepos = []string{"https://gitlab.example.com/acme/platform/shop.git", "git@gitlab.example.com:acme/platform/shop.git",
		"https://gitlab.example.com/acme/platform/shop"}
	giteaRepos = []string{"https://git.example.org/acme/shop.git", "ssh://git@git.example.org:2222/acme/shop.git",
		"https://git.example.org/acme/shop", "https://git.example.org/api/v1/repos/acme/shop"}
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		body    []byte
		headers func(signed []byte) http.Header
		secret  string // "" gives Parse testSecret, "-" the empty secret
		want    Push
		wantErr error
	}{
		{desc: "github push", body: fixture(t, "github-push.json"), headers: githubSigned("push"),
			want: Push{Provider: "github", Repos: githubRepos, Ref: "refs/heads/main", Branch: "main",
				After: "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", Author: "Ada Lovelace", Message: "Fix the checkout total"}},
		{desc: "github tag push has no branch", body: fixture(t, "github-tag-push.json"), headers: githubSigned("push"),
			want: Push{Provider: "github", Repos: githubRepos, Ref: "refs/tags/v1.4.0",
				After: "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", Author: "Ada Lovelace", Message: "Fix the checkout total"}},
		{desc: "github branch deletion", body: fixture(t, "github-delete.json"), headers: githubSigned("push"),
			want: Push{Provider: "github", Repos: githubRepos, Ref: "refs/heads/feature/basket", Branch: "feature/basket",
				After: "0000000000000000000000000000000000000000", Deleted: true}},
		{desc: "github deleted:true alone marks a deletion",
			body: edit(t, "github-push.json", func(m map[string]any) { m["deleted"] = true }), headers: githubSigned("push"),
			want: Push{Provider: "github", Repos: githubRepos, Ref: "refs/heads/main", Branch: "main", Deleted: true,
				After: "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", Author: "Ada Lovelace", Message: "Fix the checkout total"}},
		{desc: "without head_commit the commit whose id is after is the head",
			body: edit(t, "github-push.json", func(m map[string]any) {
				delete(m, "head_commit")
				c := m["commits"].([]any)
				m["commits"] = []any{c[1], c[0]}
			}), headers: githubSigned("push"),
			want: Push{Provider: "github", Repos: githubRepos, Ref: "refs/heads/main", Branch: "main",
				After: "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", Author: "Ada Lovelace", Message: "Fix the checkout total"}},
		{desc: "upper-case after is lowered",
			body: edit(t, "github-push.json", func(m map[string]any) { m["after"] = "0D1A26E67D8F5EAF1F6BA5C57FC3C7D91AC0FD1C" }), headers: githubSigned("push"),
			want: Push{Provider: "github", Repos: githubRepos, Ref: "refs/heads/main", Branch: "main",
				After: "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", Author: "Ada Lovelace", Message: "Fix the checkout total"}},
		{desc: "github ping", body: fixture(t, "github-ping.json"), headers: githubSigned("ping"), wantErr: ErrNotPush},
		{desc: "github ping with a wrong signature", body: fixture(t, "github-ping.json"), wantErr: ErrSignature,
			headers: fixed(header("X-GitHub-Event", "ping", "X-Hub-Signature-256", "sha256="+sign("other", fixture(t, "github-ping.json"))))},
		{desc: "github wrong secret", body: fixture(t, "github-push.json"), secret: "not the secret", headers: githubSigned("push"), wantErr: ErrSignature},
		{desc: "github missing signature", body: fixture(t, "github-push.json"), headers: fixed(header("X-GitHub-Event", "push")), wantErr: ErrSignature},
		{desc: "github SHA-1 signature only", body: fixture(t, "github-push.json"), wantErr: ErrSignature,
			headers: fixed(header("X-GitHub-Event", "push", "X-Hub-Signature", "sha1=0123456789abcdef0123456789abcdef01234567"))},
		{desc: "github signature without sha256= prefix", body: fixture(t, "github-push.json"), wantErr: ErrSignature,
			headers: func(b []byte) http.Header {
				return header("X-GitHub-Event", "push", "X-Hub-Signature-256", sign(testSecret, b))
			}},
		{desc: "github signature not hex", body: fixture(t, "github-push.json"), wantErr: ErrSignature,
			headers: fixed(header("X-GitHub-Event", "push", "X-Hub-Signature-256", "sha256=zz"))},
		{desc: "empty secret never verifies, even signed with the empty key", body: fixture(t, "github-push.json"), secret: "-", wantErr: ErrSignature,
			headers: func(b []byte) http.Header {
				return header("X-GitHub-Event", "push", "X-Hub-Signature-256", "sha256="+sign("", b))
			}},
		{desc: "not JSON after a good signature", body: []byte("<html>hello</html>"), headers: githubSigned("push"), wantErr: ErrMalformed},
		{desc: "not JSON and a wrong signature fails the signature first", body: []byte("<html>hello</html>"), secret: "wrong", headers: githubSigned("push"), wantErr: ErrSignature},
		{desc: "JSON array", body: []byte(`[{"ref":"refs/heads/main"}]`), headers: githubSigned("push"), wantErr: ErrMalformed},
		{desc: "ref of the wrong type", body: edit(t, "github-push.json", func(m map[string]any) { m["ref"] = 7 }), headers: githubSigned("push"), wantErr: ErrMalformed},
		{desc: "missing ref", body: edit(t, "github-push.json", func(m map[string]any) { delete(m, "ref") }), headers: githubSigned("push"), wantErr: ErrMalformed},
		{desc: "missing after", body: edit(t, "github-push.json", func(m map[string]any) { delete(m, "after") }), headers: githubSigned("push"), wantErr: ErrMalformed},
		{desc: "after not a SHA", body: edit(t, "github-push.json", func(m map[string]any) { m["after"] = "main" }), headers: githubSigned("push"), wantErr: ErrMalformed},
		{desc: "ref with a newline", body: edit(t, "github-push.json", func(m map[string]any) { m["ref"] = "refs/heads/x\nINFO forged" }), headers: githubSigned("push"), wantErr: ErrMalformed},
		{desc: "ref naming no branch", body: edit(t, "github-push.json", func(m map[string]any) { m["ref"] = "refs/heads/" }), headers: githubSigned("push"), wantErr: ErrMalformed},
		{desc: "no repository", body: edit(t, "github-push.json", func(m map[string]any) { delete(m, "repository") }), headers: githubSigned("push"), wantErr: ErrMalformed},
		{desc: "body over MaxBody", body: append(fixture(t, "github-push.json"), bytes.Repeat([]byte(" "), MaxBody)...), headers: githubSigned("push"), wantErr: ErrMalformed},
		{desc: "no provider header", body: fixture(t, "github-push.json"), wantErr: ErrUnknown,
			headers: func(b []byte) http.Header { return header("X-Hub-Signature-256", "sha256="+sign(testSecret, b)) }},

		{desc: "gitea push", body: fixture(t, "gitea-push.json"), headers: giteaSigned("push"),
			want: Push{Provider: "gitea", Repos: giteaRepos, Ref: "refs/heads/develop", Branch: "develop",
				After: "bffeb74224043ba2feb48d137756c8a9331c449a", Author: "Gitea", Message: "Webhooks Yay!"}},
		{desc: "gitea signed with X-Hub-Signature-256 only", body: fixture(t, "gitea-push.json"),
			headers: func(b []byte) http.Header {
				return header("X-Gitea-Event", "push", "X-Hub-Signature-256", "sha256="+sign(testSecret, b))
			},
			want: Push{Provider: "gitea", Repos: giteaRepos, Ref: "refs/heads/develop", Branch: "develop",
				After: "bffeb74224043ba2feb48d137756c8a9331c449a", Author: "Gitea", Message: "Webhooks Yay!"}},
		{desc: "gitea wrong X-Gitea-Signature is not rescued by a good X-Hub-Signature-256", body: fixture(t, "gitea-push.json"), wantErr: ErrSignature,
			headers: func(b []byte) http.Header {
				return header("X-Gitea-Event", "push", "X-Gitea-Signature", sign("other", b), "X-Hub-Signature-256", "sha256="+sign(testSecret, b))
			}},
		{desc: "gitea wrong secret", body: fixture(t, "gitea-push.json"), secret: "nope", headers: giteaSigned("push"), wantErr: ErrSignature},
		{desc: "gitea missing signature", body: fixture(t, "gitea-push.json"), headers: fixed(header("X-Gitea-Event", "push", "X-GitHub-Event", "push")), wantErr: ErrSignature},
		{desc: "gitea create event", body: fixture(t, "gitea-push.json"), headers: giteaSigned("create"), wantErr: ErrNotPush},

		{desc: "gitlab push: the head is the commit whose id is after", body: fixture(t, "gitlab-push.json"), headers: gitlabSigned("Push Hook"),
			want: Push{Provider: "gitlab", Repos: gitlabRepos, Ref: "refs/heads/main", Branch: "main",
				After: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", Author: "GitLab dev user", Message: "fixed readme"}},
		{desc: "gitlab push: else the last commit is the head",
			body: edit(t, "gitlab-push.json", func(m map[string]any) { m["after"] = "1111111111111111111111111111111111111111" }), headers: gitlabSigned("Push Hook"),
			want: Push{Provider: "gitlab", Repos: gitlabRepos, Ref: "refs/heads/main", Branch: "main",
				After: "1111111111111111111111111111111111111111", Author: "Jordi Mallach", Message: "Update Catalan translation to e38cb41."}},
		{desc: "gitlab tag push", body: fixture(t, "gitlab-tag-push.json"), headers: gitlabSigned("Tag Push Hook"),
			want: Push{Provider: "gitlab", Repos: gitlabRepos, Ref: "refs/tags/v1.0.0", After: "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7"}},
		{desc: "gitlab branch deletion", body: fixture(t, "gitlab-delete.json"), headers: gitlabSigned("Push Hook"),
			want: Push{Provider: "gitlab", Repos: gitlabRepos, Ref: "refs/heads/feature/basket", Branch: "feature/basket",
				After: "0000000000000000000000000000000000000000", Deleted: true}},
		{desc: "gitlab wrong token", body: fixture(t, "gitlab-push.json"), secret: "nope", headers: gitlabSigned("Push Hook"), wantErr: ErrSignature},
		{desc: "gitlab token a prefix of the secret", body: fixture(t, "gitlab-push.json"), wantErr: ErrSignature,
			headers: fixed(header("X-Gitlab-Event", "Push Hook", "X-Gitlab-Token", testSecret[:5]))},
		{desc: "gitlab missing token", body: fixture(t, "gitlab-push.json"), headers: fixed(header("X-Gitlab-Event", "Push Hook")), wantErr: ErrSignature},
		{desc: "gitlab empty secret", body: fixture(t, "gitlab-push.json"), secret: "-", headers: gitlabSigned("Push Hook"), wantErr: ErrSignature},
		{desc: "gitlab merge request hook", body: fixture(t, "gitlab-push.json"), headers: gitlabSigned("Merge Request Hook"), wantErr: ErrNotPush},
		{desc: "gitlab merge request hook with a wrong token", body: fixture(t, "gitlab-push.json"), secret: "nope", headers: gitlabSigned("Merge Request Hook"), wantErr: ErrSignature},
		{desc: "gitlab push hook whose body is another kind",
			body: edit(t, "gitlab-push.json", func(m map[string]any) { m["object_kind"] = "merge_request" }), headers: gitlabSigned("Push Hook"), wantErr: ErrMalformed},
		{desc: "gitlab not JSON", body: []byte("object_kind=push"), headers: gitlabSigned("Push Hook"), wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			secret := testSecret
			switch tt.secret {
			case "":
			case "-":
				secret = ""
			default:
				secret = tt.secret
			}
			body := tt.body
			h := tt.headers(body)
			got, err := Parse(h, body, []byte(secret))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Parse() error = %v, want %v", err, tt.wantErr)
				}
				assertNoSecret(t, err, body)
				return
			}
			if err != nil {
				t.Fatalf("Parse(): %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse() =\n%#v\nwant\n%#v", got, tt.want)
			}
		})
	}
}

// assertNoSecret: an error quotes neither the secret nor the signature the body should have.
func assertNoSecret(t *testing.T, err error, body []byte) {
	t.Helper()
	msg := err.Error()
	for _, s := range []string{testSecret, sign(testSecret, body)} {
		if strings.Contains(msg, s) {
			t.Errorf("error %q quotes the secret or the expected signature", msg)
		}
	}
}

func TestParseTamperedBody(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file    string
		headers func([]byte) http.Header
	}{
		{"github-push.json", githubSigned("push")},
		{"gitea-push.json", giteaSigned("push")},
	} {
		body := fixture(t, tc.file)
		h := tc.headers(body)
		if _, err := Parse(h, body, []byte(testSecret)); err != nil {
			t.Fatalf("%s: the untampered body must verify: %v", tc.file, err)
		}
		tampered := bytes.Replace(body, []byte(`"refs/heads/`), []byte(`"refs/heads/x`), 1)
		if bytes.Equal(tampered, body) {
			t.Fatalf("%s: the test did not change the body", tc.file)
		}
		_, err := Parse(h, tampered, []byte(testSecret))
		if !errors.Is(err, ErrSignature) {
			t.Errorf("%s tampered: error = %v, want ErrSignature", tc.file, err)
		}
	}
}

// TestGitHubDocsVector checks the signature format against the example in GitHub's
// "Validating webhook deliveries" documentation.
func TestGitHubDocsVector(t *testing.T) {
	t.Parallel()
	body := []byte("Hello, World!")
	const sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	_, err := Parse(header("X-GitHub-Event", "push", "X-Hub-Signature-256", sig), body, []byte(testSecret))
	if !errors.Is(err, ErrMalformed) { // verified, then not JSON
		t.Errorf("with the documented signature: error = %v, want ErrMalformed (verified, then not JSON)", err)
	}
	bad := sig[:len(sig)-1] + "8"
	_, err = Parse(header("X-GitHub-Event", "push", "X-Hub-Signature-256", bad), body, []byte(testSecret))
	if !errors.Is(err, ErrSignature) {
		t.Errorf("with one digit changed: error = %v, want ErrSignature", err)
	}
}

func TestErrorsSayWhatToDo(t *testing.T) {
	t.Parallel()
	body := fixture(t, "github-push.json")
	_, err := Parse(header("X-GitHub-Event", "push", "X-Hub-Signature-256", "sha256="+sign("old secret", body)), body, []byte(testSecret))
	for _, want := range []string{"X-Hub-Signature-256", "does not match", "webhook settings"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
	_, err = Parse(http.Header{}, body, []byte(testSecret))
	for _, want := range []string{"X-GitHub-Event", "X-Gitlab-Event", "X-Gitea-Event"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %q", err, want)
		}
	}
}

func TestPushFor(t *testing.T) {
	t.Parallel()
	body := fixture(t, "gitea-push.json")
	p, err := Parse(giteaSigned("push")(body), body, []byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	for url, want := range map[string]bool{
		"git@git.example.org:acme/shop.git": true,
		"https://git.example.org/acme/shop": true,
		"https://github.com/acme/shop":      false,
		"https://git.example.org/acme/cart": false,
		"":                                  false,
	} {
		if got := p.For(url); got != want {
			t.Errorf("For(%q) = %v, want %v", url, got, want)
		}
	}
	if (Push{}).For("https://github.com/acme/shop") {
		t.Error("a Push with no Repos is for no repository")
	}
}
