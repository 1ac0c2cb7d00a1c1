package spec

import (
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Pipeline takes commits of a git repository to production: each commit of the branch is
// checked out clean, built into one immutable artifact, tested, optionally approved, and
// deployed with the app's strategy as the release named by its short SHA. It lives in the
// app's spec, not a spec of its own, because it deploys exactly one app with that app's
// strategy, hooks and analysis, and one apply changes both together.
type Pipeline struct {
	// Where the commits come from.
	//
	// Required.
	// Example: {repo: "https://git.example.com/shop/web.git", branch: main}
	Source PipelineSource `yaml:"source"`

	// Accepts push webhooks from GitHub, GitLab or Gitea at POST
	// /api/v1/apps/APP/pipeline/hooks, verified with this secret.
	//
	// Default: off.
	// Example: {secret: "a-long-random-string"}
	Webhook *PushWebhook `yaml:"webhook,omitempty"`

	// How a commit becomes the release's artifact.
	//
	// Default: the checkout as it is, with run.process; required with run.docker.
	// Example: {command: [make, build], artifact: dist}
	Build PipelineBuild `yaml:"build"`

	// Commands run against the built artifact, in order, before any deployment starts. A
	// failing test ends the run; traffic is not touched.
	//
	// Default: none.
	// Example: [{name: unit, command: [make, test]}]
	Tests []PipelineTest `yaml:"tests,omitempty"`

	// Wait for `cutover pipeline approve APP` between the tests and the deployment.
	//
	// Default: false.
	// Example: true
	Approval bool `yaml:"approval,omitempty"`

	// A newer commit aborts the deployment in progress (traffic goes back to blue) instead
	// of waiting for it to end.
	//
	// Default: false.
	// Example: true
	Interrupt bool `yaml:"interrupt,omitempty"`

	// How many releases' artifacts are kept under the data directory (or images on the
	// Docker engine). Older ones are pruned unless a warm or serving release needs them; a
	// rollback always reuses the exact artifact.
	//
	// Default: 5.
	// Example: 10
	Retain int `yaml:"retain,omitempty"`
}

// PipelineSource is a git repository and branch.
type PipelineSource struct {
	// The repository: a path on the server, a file:// URL, or an https, ssh or git URL the
	// server can fetch (with its own credentials).
	//
	// Required.
	// Example: https://git.example.com/shop/web.git
	Repo string `yaml:"repo"`

	// The branch whose commits are deployed.
	//
	// Default: main.
	// Example: release
	Branch string `yaml:"branch,omitempty"`

	// How often the server looks for a new commit. 0 turns polling off (webhooks and
	// `cutover pipeline run` still start runs).
	//
	// Default: 1m.
	// Example: 30s
	Poll *Duration `yaml:"poll,omitempty"`
}

// PushWebhook verifies push webhooks.
type PushWebhook struct {
	// The shared secret: GitHub's and Gitea's HMAC key, GitLab's token. Shown as ******.
	//
	// Required.
	// Example: a-long-random-string
	Secret string `yaml:"secret"`
}

// PipelineBuild turns a clean checkout into the artifact.
type PipelineBuild struct {
	// A command run in the checkout, with CUTOVER_APP, CUTOVER_VERSION (the short SHA) and
	// CUTOVER_COMMIT set. It fails the run when it exits non-zero.
	//
	// Default: none.
	// Example: [go, build, -o, dist/web, ./cmd/web]
	Command []string `yaml:"command,omitempty,flow"`

	// The directory of the checkout, after the command, that is the artifact (with
	// run.process): it is kept per release and run.process.dir is taken inside it.
	//
	// Default: . (the whole checkout)
	// Example: dist
	Artifact string `yaml:"artifact,omitempty"`

	// With run.docker: the Dockerfile, relative to the checkout, built into the image
	// APP:SHORTSHA on the engine after the command.
	//
	// Required with run.docker.
	// Example: Dockerfile
	Dockerfile string `yaml:"dockerfile,omitempty"`

	// Extra environment variables for the command and the tests.
	//
	// Default: none.
	// Example: {GOFLAGS: -trimpath}
	Env map[string]string `yaml:"env,omitempty"`

	// Names of variables in env whose values are secret: masked in the run's logs.
	//
	// Default: none.
	// Example: [NPM_TOKEN]
	SecretEnv []string `yaml:"secret_env,omitempty,flow"`

	// The most the command (and the image build) may take.
	//
	// Default: 10m.
	// Example: 30m
	Timeout Duration `yaml:"timeout,omitempty" spec:"nonzero"`
}

// PipelineTest is one test stage.
type PipelineTest struct {
	// The stage's name, unique in the pipeline: lowercase letters, digits and dashes.
	//
	// Required.
	// Example: unit
	Name string `yaml:"name"`

	// The command, run in the artifact directory (the checkout with run.docker) with the
	// build's environment and CUTOVER_ARTIFACT (and CUTOVER_IMAGE with run.docker) set.
	//
	// Required.
	// Example: [./web, --self-test]
	Command []string `yaml:"command,flow"`

	// The most the command may take.
	//
	// Default: 10m.
	// Example: 2m
	Timeout Duration `yaml:"timeout,omitempty" spec:"nonzero"`
}

const (
	defaultBranch       = "main"
	defaultPoll         = Duration(time.Minute)
	defaultRetain       = 5
	defaultStageTimeout = Duration(10 * time.Minute)
)

var stageNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$`)

func (p *Pipeline) defaults() {
	fill(&p.Source.Branch, defaultBranch)
	if p.Source.Poll == nil {
		d := defaultPoll
		p.Source.Poll = &d
	}
	fill(&p.Build.Artifact, ".")
	fill(&p.Build.Timeout, defaultStageTimeout)
	fill(&p.Retain, defaultRetain)
	if len(p.Build.Env) == 0 {
		p.Build.Env = nil
	}
	if len(p.Tests) == 0 {
		p.Tests = nil
	}
	for i := range p.Tests {
		fill(&p.Tests[i].Timeout, defaultStageTimeout)
	}
}

func (p *Pipeline) validate(c *checker, a *App) {
	const at = "pipeline"
	switch r := p.Source.Repo; {
	case r == "":
		c.add(at+".source.repo", "required: the git repository, a path or URL the server can fetch")
	case strings.HasPrefix(r, "-") || strings.Contains(r, "::"):
		c.add(at+".source.repo", "%q is not a repository path or URL", clip(r))
	}
	if b := p.Source.Branch; strings.HasPrefix(b, "-") || strings.Contains(b, "..") || strings.ContainsAny(b, " ~^:?*[\\") {
		c.add(at+".source.branch", "%q is not a branch name", clip(b))
	}
	if p.Source.Poll != nil && *p.Source.Poll < 0 {
		c.add(at+".source.poll", "must not be negative, got %s (0 turns polling off)", *p.Source.Poll)
	}
	if p.Webhook != nil && len(p.Webhook.Secret) < 16 {
		c.add(at+".webhook.secret", "use at least 16 characters; a short secret lets anyone who guesses it start runs")
	}
	b := p.Build
	if art := filepath.Clean(b.Artifact); filepath.IsAbs(art) || art == ".." || strings.HasPrefix(art, "../") {
		c.add(at+".build.artifact", "%q must be a directory inside the checkout, like dist", clip(b.Artifact))
	}
	c.env(at+".build.env", b.Env)
	c.secretEnv(at+".build.secret_env", b.SecretEnv, b.Env)
	c.positive(at+".build.timeout", b.Timeout)
	switch {
	case a.Run.Docker != nil:
		if b.Dockerfile == "" {
			c.add(at+".build.dockerfile", "required with run.docker: the Dockerfile in the checkout the image APP:SHORTSHA is built from")
		}
		if a.Run.Docker.Image != "" || a.Run.Docker.Build != nil {
			c.add("run.docker", "leave out image and build: the pipeline builds the image %s:SHORTSHA of each commit", a.Name)
		}
	case a.Run.Process != nil:
		if b.Dockerfile != "" {
			c.add(at+".build.dockerfile", "needs run.docker; with run.process the artifact is the directory build.artifact")
		}
		if filepath.IsAbs(a.Run.Process.Dir) {
			c.add("run.process.dir", "%q: with a pipeline, run.process.dir is taken inside each release's artifact; use a relative path", clip(a.Run.Process.Dir))
		}
	default:
		c.add(at, "needs run.process or run.docker; the cloud runtimes take images built elsewhere (name them in the run section)")
	}
	seen := map[string]bool{"source": true, "build": true, "approval": true, "deploy": true}
	for i, t := range p.Tests {
		path := index(at+".tests", i)
		if !stageNameRE.MatchString(t.Name) {
			c.add(path+".name", "%q: use 1-32 lowercase letters, digits and dashes", clip(t.Name))
		} else if seen[t.Name] {
			c.add(path+".name", "%q names another stage; give each test its own name", t.Name)
		}
		seen[t.Name] = true
		if len(t.Command) == 0 || t.Command[0] == "" {
			c.add(path+".command", "required: the program and its arguments")
		}
		c.positive(path+".timeout", t.Timeout)
	}
	if p.Retain < 1 {
		c.add(at+".retain", "keep at least 1 release's artifact, got %d", p.Retain)
	}
}

// ArtifactDir is where a release's run.process.dir points: dir (the spec's, relative) inside
// the release's artifact directory root.
func (p *Process) ArtifactDir(root string) string {
	return filepath.Join(root, p.Dir)
}
