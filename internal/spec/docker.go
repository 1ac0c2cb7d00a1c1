package spec

import (
	"os"
	"path"
	"regexp"
	"strings"
)

// Docker runs each instance as a container of a Docker engine (the server's DOCKER_HOST, or
// the local socket). The image is either given (image) or built from a Dockerfile (build),
// and is the same for every instance of a release. The container serves HTTP on port; cutover
// publishes it on the host at a port of its own choosing, probes it there and routes to it.
// Besides env and run.endpoints, every container gets PORT (the container port),
// CUTOVER_APP, CUTOVER_VERSION and CUTOVER_INSTANCE; $NAME and ${NAME} in command and
// entrypoint are replaced from that environment by cutover itself, as for run.process.
type Docker struct {
	// The image each instance runs, as `docker run` takes it. $CUTOVER_VERSION and
	// $CUTOVER_APP (or ${CUTOVER_VERSION}, ${CUTOVER_APP}) are replaced by the release's
	// version and the app's name, so one spec serves every release: `cutover deploy web
	// --version v2` runs web:v2. The image must be on the engine already (cutover does not
	// pull); build it with `docker build -t web:v2 .` or let cutover build it (build).
	//
	// Required unless build is set.
	// Example: "web:$CUTOVER_VERSION"
	Image string `yaml:"image,omitempty"`

	// Build the image from a Dockerfile instead of naming one: before the first instance of a
	// release starts, cutover builds the image and tags it APP:VERSION (web:v2), one immutable
	// image per release, unless the engine has that tag already. The build's output goes to
	// the server's log and its outcome into the deployment's events; a failed build fails the
	// deployment before anything starts, with blue untouched.
	//
	// Required unless image is set.
	// Example: {context: /srv/web, dockerfile: Dockerfile}
	Build *Build `yaml:"build,omitempty"`

	// The container's command: the image's CMD when left out, or the arguments to its
	// entrypoint.
	//
	// Default: the image's.
	// Example: ["--port", "$PORT"]
	Command []string `yaml:"command,omitempty,flow"`

	// Replaces the image's ENTRYPOINT when set.
	//
	// Default: the image's.
	// Example: ["/web", "serve"]
	Entrypoint []string `yaml:"entrypoint,omitempty,flow"`

	// Extra environment variables of the container, name -> value. PORT, CUTOVER_APP and
	// CUTOVER_VERSION are set by cutover and cannot be set here.
	//
	// Default: none.
	// Example: {LOG_LEVEL: info, DB_PASSWORD: s3cret}
	Env map[string]string `yaml:"env,omitempty"`

	// Names of variables in env whose values are secret, exactly as run.process.secret_env:
	// the containers get the real values; the API, the CLI, cutover's log and every output
	// cutover records or serves show `******`. The engine itself keeps the container's
	// environment as it is (`docker inspect` shows it to whoever may talk to the engine).
	//
	// Default: none.
	// Example: [DB_PASSWORD]
	SecretEnv []string `yaml:"secret_env,omitempty,flow"`

	// The port the app listens on inside the container; PORT holds it too.
	//
	// Default: 8080.
	// Example: 3000
	Port int `yaml:"port,omitempty" spec:"nonzero"`

	// The container's memory limit, in bytes with an optional unit: k, m, g (powers of 1024).
	// At least 6m. A container that exceeds it is killed, and its deployment ends with "out
	// of memory".
	//
	// Default: no limit.
	// Example: 256m
	Memory ByteSize `yaml:"memory,omitempty" spec:"nonzero"`

	// How many CPUs the container may use, e.g. 0.5 for half of one.
	//
	// Default: no limit.
	// Example: 1.5
	CPUs float64 `yaml:"cpus,omitempty" spec:"nonzero"`

	// The Docker network to attach the containers to, e.g. a user-defined bridge shared with
	// a database container. Not "host" or "none": blue's and green's instances run side by
	// side, each with its own published port, which neither allows.
	//
	// Default: the engine's default bridge.
	// Example: backend
	Network string `yaml:"network,omitempty"`
}

// Build says where the Dockerfile of an app is.
type Build struct {
	// The build context: the directory sent to the engine, where COPY finds its files. A
	// relative path is taken from the cutover server's working directory, so prefer an
	// absolute one.
	//
	// Required.
	// Example: /srv/web
	Context string `yaml:"context"`

	// The Dockerfile, relative to the context.
	//
	// Default: Dockerfile.
	// Example: deploy/Dockerfile
	Dockerfile string `yaml:"dockerfile,omitempty"`
}

// ImageFor returns the image a release of app runs: the image field with $CUTOVER_APP and
// $CUTOVER_VERSION replaced, or APP:VERSION when the image is built.
func (d *Docker) ImageFor(app, version string) string {
	if d.Build != nil {
		return app + ":" + version
	}
	return os.Expand(d.Image, func(name string) string {
		switch name {
		case "CUTOVER_APP":
			return app
		case "CUTOVER_VERSION":
			return version
		}
		return ""
	})
}

const (
	defaultContainerPort = 8080
	minMemory            = 6 << 20 // the engine refuses less
	maxCPUs              = 1024
)

var (
	// imageRE is an image reference as the engine reads it: an optional registry host (with
	// a port), lowercase path components, an optional tag and an optional digest.
	imageRE   = regexp.MustCompile(`^([A-Za-z0-9.-]+(:[0-9]+)?/)?[a-z0-9]+([._-]+[a-z0-9]+)*(/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$`)
	networkRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)
	imageVars = regexp.MustCompile(`\$(\{[^}]*\}?|[A-Za-z0-9_]*)`)
)

func (d *Docker) defaults() {
	fill(&d.Port, defaultContainerPort)
	if b := d.Build; b != nil {
		fill(&b.Dockerfile, "Dockerfile")
	}
	if len(d.Command) == 0 {
		d.Command = nil
	}
	if len(d.Entrypoint) == 0 {
		d.Entrypoint = nil
	}
	if len(d.Env) == 0 {
		d.Env = nil
	}
	if len(d.SecretEnv) == 0 {
		d.SecretEnv = nil
	}
}

func (d *Docker) validate(c *checker, p string, built bool) {
	if !built {
		c.exactlyOne(p, []string{"image", "build"}, []bool{d.Image != "", d.Build != nil})
	}
	if d.Image != "" {
		d.validateImage(c, p+".image")
	}
	if b := d.Build; b != nil {
		if b.Context == "" {
			c.add(p+".build.context", "required: the directory to build from, like /srv/web")
		}
		df := b.Dockerfile
		if path.IsAbs(df) || df == ".." || strings.HasPrefix(df, "../") || strings.Contains(df, "/../") {
			c.add(p+".build.dockerfile", "%q must be a path inside the context, like Dockerfile or deploy/Dockerfile", clip(df))
		}
	}
	c.env(p+".env", d.Env)
	c.secretEnv(p+".secret_env", d.SecretEnv, d.Env)
	if !(d.Port >= 1 && d.Port <= 65535) {
		c.add(p+".port", "must be a port from 1 to 65535, got %d", d.Port)
	}
	if d.Memory != 0 && d.Memory < minMemory {
		c.add(p+".memory", "%s is too little: the engine needs at least 6m", d.Memory)
	}
	if d.CPUs != 0 && !(d.CPUs >= 0.01 && d.CPUs <= maxCPUs) {
		c.add(p+".cpus", "must be between 0.01 and %d, got %g", maxCPUs, d.CPUs)
	}
	switch {
	case d.Network == "host" || d.Network == "none":
		c.add(p+".network", "%q cannot be used: blue's and green's instances run side by side, each on its own published port; use a bridge network", d.Network)
	case d.Network != "" && !networkRE.MatchString(d.Network):
		c.add(p+".network", "%q is not a network name: letters, digits, '.', '_' and '-'", clip(d.Network))
	}
}

// validateImage checks the image reference once its variables are replaced (by a version of
// the allowed shape), and that it names no other variable.
func (d *Docker) validateImage(c *checker, p string) {
	for _, m := range imageVars.FindAllString(d.Image, -1) {
		name := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(m, "$"), "{"), "}")
		if name != "CUTOVER_APP" && name != "CUTOVER_VERSION" {
			c.add(p, "%q: only $CUTOVER_APP and $CUTOVER_VERSION are replaced in an image", clip(m))
			return
		}
	}
	if img := d.ImageFor("app", "v1"); !imageRE.MatchString(img) {
		c.add(p, "%q is not an image reference like web:v2 or registry.example.com/team/web:$CUTOVER_VERSION", clip(d.Image))
	}
}
