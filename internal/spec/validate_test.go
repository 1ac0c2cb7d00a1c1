package spec

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// problemsOf parses src and returns the problems, failing the test if Parse succeeds or
// returns something other than an *Error.
func problemsOf(t *testing.T, src string) []Problem {
	t.Helper()
	a, err := Parse(strings.NewReader(src))
	if err == nil {
		t.Fatalf("Parse succeeded, want problems; got %+v", a)
	}
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("Parse error is %T %v, want *Error wrapping ErrInvalid", err, err)
	}
	return e.Problems
}

// checkProblems asserts that problems are exactly want, in any order. A want entry is a path,
// "path@N" to also require line N, or "path~text" to require text in the message.
func checkProblems(t *testing.T, problems []Problem, want []string) {
	t.Helper()
	used := make([]bool, len(problems))
	for _, w := range want {
		path, line, text := w, 0, ""
		if p, l, ok := strings.Cut(w, "@"); ok {
			path = p
			fmt.Sscan(l, &line)
		}
		if p, tx, ok := strings.Cut(path, "~"); ok {
			path, text = p, tx
		}
		found := false
		for i, p := range problems {
			if !used[i] && p.Path == path && (line == 0 || p.Line == line) && strings.Contains(p.Message, text) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("missing problem %q", w)
		}
	}
	for i, p := range problems {
		if !used[i] {
			t.Errorf("unexpected problem: %s", p)
		}
	}
}

// valid is a correct spec that the cases below extend; its last line is 6.
const valid = `app: web
routes:
  - listen: 127.0.0.1:8080
run:
  process:
    command: [./web]
`

func TestValidationProblems(t *testing.T) {
	tests := []struct {
		desc string
		src  string
		want []string
	}{
		{desc: "empty file", src: "", want: []string{"~empty"}},
		{desc: "only a comment", src: "# nothing\n", want: []string{"~empty"}},
		{desc: "YAML syntax error has its line", src: "app: web\nroutes: [\n  - x: y\n", want: []string{"~syntax"}},
		{desc: "not a mapping", src: "- app: web\n", want: []string{"@1"}},
		{desc: "two documents", src: valid + "---\napp: other\n", want: []string{"~one YAML document@7"}},
		{desc: "everything required missing", src: "health: {path: /h}\n", want: []string{
			"app~required", "routes~required", "run~set exactly one of process, docker"}},
		{desc: "five mistakes, five problems", src: `app: Web!
routes:
  - listen: nope
run:
  process: {command: [./web]}
  instances: 500
health:
  healthy_threshold: -1
strategy:
  canary:
    steps:
      - weight: 20
      - weight: 5
`, want: []string{"app@1", "routes[0].listen@3", "run.instances@6", "health.healthy_threshold@8", "strategy.canary.steps[1].weight~previous@13"}},
		{desc: "type errors with lines, and no follow-on problems", src: `app: [web]
routes:
  - listen: 127.0.0.1:8080
run:
  process:
    command: ./web
  instances: two
strategy:
  canary:
    steps:
      - {weight: ten, pause: 5}
      - {weight: 50, approval: maybe}
`, want: []string{"app~expected a string@1", "run.process.command~expected a list@6", "run.instances~whole number@7",
			"strategy.canary.steps[0].weight@11", "strategy.canary.steps[0].pause~unit@11", "strategy.canary.steps[1].approval~true or false@12"}},
		{desc: "explicit zeros that would be defaulted", src: valid + "  instances: 0\nhealth: {interval: 0s, healthy_threshold: 0}\n",
			want: []string{"run.instances~must not be 0@7", "health.interval@8", "health.healthy_threshold@8"}},
		{desc: "duplicate key", src: valid + "app: again\n", want: []string{"app~defined twice (first on line 1)@7"}},
		{desc: "routes", src: `app: web
test_listener: 127.0.0.1:8080
routes:
  - {listen: 127.0.0.1:8080, host: Shop.Example.com, path: api}
  - {listen: "127.0.0.1:0"}
  - {listen: "127.0.0.1:70000"}
  - {listen: 127.0.0.1:8080, host: Shop.Example.com, path: api}
run: {process: {command: [./web]}}
`, want: []string{"routes[0].host@4", "routes[0].path@4", "routes[1].listen~port@5", "routes[2].listen~port@6",
			"routes[3]~same listen@7", "routes[3].host", "routes[3].path", "test_listener~own address@2", "test_listener~own address@2"}},
		{desc: "run: env, secrets and endpoints", src: `app: web
routes: [{listen: 127.0.0.1:8080}]
run:
  process:
    command: [""]
    env: {1BAD: x, PORT: "80", OK: y}
    secret_env: [OK, MISSING]
  stop_grace: -1s
  endpoints: {USERS: Users, OK: users, CUTOVER_APP: web}
`, want: []string{"run.process.command~required", "run.process.env.1BAD~not a valid variable name",
			"run.process.env.PORT~set by cutover", "run.process.secret_env[1]~not a variable in env@7", "run.stop_grace",
			"run.endpoints.USERS~not an app name", "run.endpoints.OK~also set in run.process.env", "run.endpoints.CUTOVER_APP~set by cutover"}},
		{desc: "strategy: two kinds, unknown preset", src: valid + "strategy: {linear: {}, preset: Canary10Percent10Minutes}\n",
			want: []string{"strategy~not linear and preset@7", "strategy.preset~Canary10Percent5Minutes, Canary10Percent15Minutes@7"}},
		{desc: "strategy: empty canary step list is defaulted, bad steps are not", src: valid + `strategy:
  canary:
    steps:
      - {weight: 0}
      - {weight: 101, pause: -1m}
      - {weight: 50, pause: 1m, approval: true}
      - {weight: .nan}
`, want: []string{"strategy.canary.steps[0].weight@10", "strategy.canary.steps[1].weight@11", "strategy.canary.steps[1].pause@11",
			"strategy.canary.steps[2]~not both@12", "strategy.canary.steps[3].weight@13"}},
		{desc: "strategy: bluegreen with both promotions", src: valid + "strategy: {bluegreen: {approval: true, auto_promote_after: 1m}}\n",
			want: []string{"strategy.bluegreen~not both@7"}},
		{desc: "strategy: linear out of range", src: valid + "strategy: {linear: {step: 0.5, interval: -1m}}\n",
			want: []string{"strategy.linear.step~between 1 and 100@7", "strategy.linear.interval@7"}},
		{desc: "strategy: rolling batch above instances", src: valid + "  instances: 2\nstrategy: {rolling: {batch: 3, pause: -1s}}\n",
			want: []string{"strategy.rolling.batch~run.instances (2)@8", "strategy.rolling.pause@8"}},
		{desc: "hooks", src: valid + `deadlines: {hook: 2m}
hooks:
  - name: a
    at: before_start
    http: {path: /x}
  - name: a
    at: sometime
    timeout: 3m
  - name: ""
    at: after_step
    http: {method: get, expect_status: 999, retries: -1, target: test_listener}
    webhook: {url: "ftp://x"}
  - name: c
    at: after_step
    http: {url: "http://example.com/x", path: /y}
    command: {argv: [], env: {"A B": x}}
`, want: []string{
			"hooks[0].http~before_start@11",
			"hooks[1].name~unique@12", "hooks[1].at~before_start, green_healthy@13", "hooks[1].timeout~deadlines.hook@14", "hooks[1]~exactly one of http, command, webhook@12",
			"hooks[2].name~required@15", "hooks[2]~not http and webhook@15", "hooks[2].http.method@17", "hooks[2].http.expect_status@17",
			"hooks[2].http.retries@17", "hooks[2].http.target~test_listener to be set@17", "hooks[2].webhook.url@18",
			"hooks[3]~not http and command@19", "hooks[3].http.url~either url@21", "hooks[3].command.argv~required@22",
			`hooks[3].command.env["A B"]~variable name@22`}},
		{desc: "analysis", src: valid + `analysis:
  interval: 1m
  window: 30s
  min_requests: -5
  checks:
    - name: e
      error_rate: {max: 150, vs_blue_margin: -1}
    - name: e
      latency: {quantile: 1.5}
    - name: l
      latency: {vs_blue: wilcoxon, ratio: 2, alpha: 0.9}
    - name: m
      latency: {vs_blue: mann_whitney, alpha: 0.9}
    - name: r
      request_rate: {}
      external: {url: "not a url", json_path: "a..b", timeout: 2m}
    - name: x
      external: {url: "http://x/", condition: "about 3"}
    - {}
`, want: []string{"analysis.window~shorter@9", "analysis.min_requests@10",
			"analysis.checks[0].error_rate.max@13", "analysis.checks[0].error_rate.vs_blue_margin@13",
			"analysis.checks[1].name~unique@14", "analysis.checks[1].latency.quantile@15", "analysis.checks[1].latency~set max, vs_blue or both@15",
			"analysis.checks[2].latency.vs_blue@17", "analysis.checks[2].latency.ratio~only with@17", "analysis.checks[2].latency.alpha~only with@17",
			"analysis.checks[3].latency.alpha~at most 0.5@19",
			"analysis.checks[4]~not request_rate and external@20", "analysis.checks[4].request_rate.min@21",
			"analysis.checks[4].external.url@22", "analysis.checks[4].external.json_path@22", "analysis.checks[4].external.condition~required@22",
			"analysis.checks[4].external.timeout~analysis.interval@22",
			"analysis.checks[5].external.condition~operator@24",
			"analysis.checks[6].name~required@25", "analysis.checks[6]~exactly one of error_rate@25"}},
		{desc: "durations", src: valid + "keep_warm: -1m\ndrain_timeout: -1s\ndeadlines: {deployment: -1h, approval: soon}\nhealth: {timeout: 1 s, startup_grace: -1s, path: healthz}\n",
			want: []string{"keep_warm@7", "drain_timeout@8", "deadlines.deployment@9", "deadlines.approval~not a duration@9",
				"health.timeout~not a duration@10", "health.startup_grace@10", "health.path@10"}},
		{desc: "split check", src: valid + "split_check: {policy: shuffle, deadline: -1m}\n",
			want: []string{"split_check.policy~not a policy@7", "split_check.deadline@7"}},
		{desc: "merge of something that is not a mapping", src: valid + "health: {<<: [1, 2]}\n", want: []string{"health~<< must merge@7"}},
		{desc: "a mapping that merges itself", src: valid + "health: &h {<<: *h}\n", want: []string{"health~<< must merge@7"}},
		{desc: "alias bomb", src: valid + aliasBomb(), want: []string{"~once its aliases"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			checkProblems(t, problemsOf(t, tc.src), tc.want)
		})
	}
}

// aliasBomb builds a small file that expands to a million values through aliases.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("  endpoints: {}\n")
	b.WriteString("hooks:\n  - &h {name: h, at: after_step, command: {argv: &a [" + strings.Repeat("x, ", 999) + "x]}}\n")
	b.WriteString(strings.Repeat("  - *h\n", 999))
	return b.String()
}

func TestErrorFormat(t *testing.T) {
	e := &Error{Problems: []Problem{
		{Path: "app", Line: 1, Message: "required"},
		{Path: "strategy.canary.steps[2].weight", Message: "must be more than 0"},
		{Line: 3, Message: "YAML syntax: bad"},
	}}
	want := "invalid app spec: app: required (line 1); strategy.canary.steps[2].weight: must be more than 0; YAML syntax: bad (line 3)"
	if got := e.Error(); got != want {
		t.Errorf("Error() = %q\nwant      %q", got, want)
	}
}

// TestValidateWithoutParse: Validate works on an App built in Go, with paths and no lines.
func TestValidateWithoutParse(t *testing.T) {
	a := &App{Name: "web", Routes: []Route{{Listen: "127.0.0.1:8080"}}, Run: Run{Process: &Process{Command: []string{"./web"}}}}
	a.Default()
	if err := a.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	a.Strategy = Strategy{Canary: &Canary{Steps: []CanaryStep{{Weight: 50}, {Weight: 40}}}}
	var e *Error
	if err := a.Validate(); !errors.As(err, &e) || len(e.Problems) != 1 || e.Problems[0].Path != "strategy.canary.steps[1].weight" || e.Problems[0].Line != 0 {
		t.Fatalf("Validate() = %v, want one problem at strategy.canary.steps[1].weight", err)
	}
}
