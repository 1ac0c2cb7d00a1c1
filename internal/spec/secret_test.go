package spec

import (
	"strings"
	"testing"
)

// withSecrets has a secret in run.process.env, one in a hook's own secret_env, and one in a
// hook's env under a name run.process.secret_env lists.
const withSecrets = `app: web
routes:
  - listen: 127.0.0.1:8080
run:
  process:
    command: [./web, --db, $DB_PASSWORD]
    env: {DB_PASSWORD: run-secret-1, LOG_LEVEL: info, PIN: "12"}
    secret_env: [DB_PASSWORD, PIN]
hooks:
  - name: migrate
    at: before_start
    command:
      argv: [./migrate]
      env: {DB_PASSWORD: hook-secret-2, API_KEY: hook-secret-3, REGION: eu}
      secret_env: [API_KEY]
  - name: smoke
    at: green_healthy
    http: {path: /}
`

func mustParse(t *testing.T, src string) *App {
	t.Helper()
	a, err := Parse(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestRedacted(t *testing.T) {
	a := mustParse(t, withSecrets)
	before, err := a.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	r := a.Redacted()
	out, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"run-secret-1", "hook-secret-2", "hook-secret-3", `"12"`} {
		if strings.Contains(string(out), secret) {
			t.Errorf("the redacted spec shows %s:\n%s", secret, out)
		}
	}
	// Everything that is not secret is kept, and the names of the secrets too.
	for _, kept := range []string{"LOG_LEVEL: info", "REGION: eu", "DB_PASSWORD: '******'", "API_KEY: '******'", "PIN: '******'", "secret_env: [API_KEY]", "smoke"} {
		if !strings.Contains(string(out), kept) {
			t.Errorf("the redacted spec lacks %q:\n%s", kept, out)
		}
	}
	// The original is untouched: instances and hooks must get the real values.
	after, _ := a.Marshal()
	if string(before) != string(after) {
		t.Fatalf("Redacted changed its receiver:\n%s\nthen\n%s", before, after)
	}
	if a.Run.Process.Env["DB_PASSWORD"] != "run-secret-1" || a.Hooks[0].Command.Env["API_KEY"] != "hook-secret-3" {
		t.Fatalf("the original lost its values: %v %v", a.Run.Process.Env, a.Hooks[0].Command.Env)
	}
	// The redacted copy still parses: a user may apply what the API showed.
	if _, err := Parse(strings.NewReader(string(out))); err != nil {
		t.Fatalf("the redacted spec does not parse: %v", err)
	}
}

func TestSecretsAndMasker(t *testing.T) {
	a := mustParse(t, withSecrets)
	got := strings.Join(a.Secrets(), ",")
	for _, want := range []string{"run-secret-1", "hook-secret-2", "hook-secret-3", "12"} {
		if !strings.Contains(got, want) {
			t.Errorf("Secrets() = %s, lacks %s", got, want)
		}
	}
	if strings.Contains(got, "info") || strings.Contains(got, "eu") {
		t.Errorf("Secrets() = %s holds values that are not secret", got)
	}

	m := NewMasker(nil, a)
	for _, c := range []struct{ desc, in, want string }{
		{"one secret", "connecting with run-secret-1 now", "connecting with ****** now"},
		{"twice, two secrets", "hook-secret-2/hook-secret-3 hook-secret-2", "******/****** ******"},
		{"short values are left", "PIN=12 at 12:12", "PIN=12 at 12:12"},
		{"nothing secret", "all good", "all good"},
	} {
		if out := m.Mask(c.in); out != c.want {
			t.Errorf("%s: Mask(%q) = %q, want %q", c.desc, c.in, out, c.want)
		}
	}
	if (Masker{}).Mask("run-secret-1") != "run-secret-1" {
		t.Error("the zero Masker changed its input")
	}
}

// TestMaskerLongestFirst: a secret containing another is masked whole, not around the
// shorter one.
func TestMaskerLongestFirst(t *testing.T) {
	a := mustParse(t, strings.Replace(withSecrets, "hook-secret-3", "run-secret-1-and-more", 1))
	if out := NewMasker(a).Mask("key=run-secret-1-and-more;"); out != "key=******;" {
		t.Fatalf("Mask = %q, want the longer secret masked whole", out)
	}
}

func TestHookSecretEnvMustNameAVariable(t *testing.T) {
	src := strings.Replace(withSecrets, "secret_env: [API_KEY]", "secret_env: [API_KEY, NOPE]", 1)
	checkProblems(t, problemsOf(t, src), []string{`hooks[0].command.secret_env[1]~"NOPE" is not a variable in env`})
}
