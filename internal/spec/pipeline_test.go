package spec

import (
	"strings"
	"testing"
)

const pipelineApp = `app: web
routes: [{listen: "127.0.0.1:8080"}]
run: {process: {command: [./web], dir: bin}}
pipeline:
  source: {repo: /srv/git/web.git}
  webhook: {secret: "0123456789abcdef-secret"}
  build: {command: [make], artifact: dist, env: {TOKEN: tok-value-1}, secret_env: [TOKEN]}
  tests: [{name: unit, command: [make, test]}]
`

func TestPipelineDefaultsAndSecrets(t *testing.T) {
	a, err := Parse(strings.NewReader(pipelineApp))
	if err != nil {
		t.Fatal(err)
	}
	p := a.Pipeline
	if p.Source.Branch != "main" || p.Source.Poll.Duration().Minutes() != 1 || p.Retain != 5 ||
		p.Build.Timeout.Duration().Minutes() != 10 || p.Tests[0].Timeout.Duration().Minutes() != 10 || p.Build.Artifact != "dist" {
		t.Fatalf("defaults: %+v", p)
	}
	if got := a.Run.Process.ArtifactDir("/data/artifacts/web/abc"); got != "/data/artifacts/web/abc/bin" {
		t.Fatalf("ArtifactDir = %s", got)
	}
	r := a.Redacted()
	if r.Pipeline.Webhook.Secret != Mask || r.Pipeline.Build.Env["TOKEN"] != Mask || a.Pipeline.Webhook.Secret == Mask {
		t.Fatalf("redacted: %+v (original %+v)", r.Pipeline, a.Pipeline)
	}
	if m := NewMasker(a).Mask("tok-value-1 and 0123456789abcdef-secret"); strings.Contains(m, "tok-value") || strings.Contains(m, "0123456789") {
		t.Fatalf("masked: %s", m)
	}
}

func TestPipelineProblems(t *testing.T) {
	checkProblems(t, problemsOf(t, `app: web
routes: [{listen: "127.0.0.1:8080"}]
run: {process: {command: [./web], dir: /abs}}
pipeline:
  source: {repo: "ext::sh -c x", branch: "-x", poll: -1s}
  webhook: {secret: short}
  build: {artifact: ../up, dockerfile: Dockerfile, timeout: 0s}
  tests: [{name: Unit, command: []}, {name: build, command: [x]}]
  retain: -1
`), []string{
		"pipeline.source.repo~not a repository",
		"pipeline.source.branch~not a branch name",
		"pipeline.source.poll~must not be negative",
		"pipeline.webhook.secret~at least 16",
		"pipeline.build.artifact~inside the checkout",
		"pipeline.build.dockerfile~needs run.docker",
		"pipeline.build.timeout",
		"run.process.dir~inside each release's artifact",
		"pipeline.tests[0].name~lowercase",
		"pipeline.tests[0].command~required",
		"pipeline.tests[1].name~names another stage",
		"pipeline.retain~at least 1",
	})
	checkProblems(t, problemsOf(t, `app: web
routes: [{listen: "127.0.0.1:8080"}]
run: {docker: {image: web:latest}}
pipeline: {source: {}}
`), []string{
		"pipeline.source.repo~required",
		"pipeline.build.dockerfile~required with run.docker",
		"run.docker~leave out image and build",
	})
}

func TestPipelineWithDockerNeedsNoImage(t *testing.T) {
	a, err := Parse(strings.NewReader(`app: web
routes: [{listen: "127.0.0.1:8080"}]
run: {docker: {port: 8080}}
pipeline: {source: {repo: /srv/git/web}, build: {dockerfile: Dockerfile}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if a.Pipeline.Build.Dockerfile != "Dockerfile" {
		t.Fatalf("build: %+v", a.Pipeline.Build)
	}
	checkProblems(t, problemsOf(t, `app: web
routes: [{listen: "127.0.0.1:8080"}]
run: {docker: {port: 8080}}
`), []string{"run.docker~set exactly one of image, build"})
}
