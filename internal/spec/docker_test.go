package spec

import (
	"strings"
	"testing"
)

// dockerValid is a correct docker spec that the cases below extend; its last line is 6.
const dockerValid = `app: web
routes:
  - listen: 127.0.0.1:8080
run:
  docker:
    image: web:$CUTOVER_VERSION
`

func TestDockerValidationProblems(t *testing.T) {
	tests := []struct {
		desc string
		src  string
		want []string
	}{
		{desc: "both runtimes", src: dockerValid + "  process: {command: [./web]}\n",
			want: []string{"run~not process and docker"}},
		{desc: "neither image nor build", src: "app: web\nroutes: [{listen: 127.0.0.1:8080}]\nrun:\n  docker: {port: 80}\n",
			want: []string{"run.docker~set exactly one of image, build"}},
		{desc: "image and build", src: dockerValid + "    build: {context: .}\n",
			want: []string{"run.docker~not image and build"}},
		{desc: "build without context, dockerfile outside it", src: "app: web\nroutes: [{listen: 127.0.0.1:8080}]\nrun:\n  docker:\n    build: {dockerfile: ../Dockerfile}\n",
			want: []string{"run.docker.build.context~required", "run.docker.build.dockerfile~inside the context"}},
		{desc: "absolute dockerfile", src: "app: web\nroutes: [{listen: 127.0.0.1:8080}]\nrun:\n  docker:\n    build: {context: ., dockerfile: /etc/Dockerfile}\n",
			want: []string{"run.docker.build.dockerfile~inside the context"}},
		{desc: "an image with another variable", src: strings.Replace(dockerValid, "$CUTOVER_VERSION", "$TAG", 1),
			want: []string{`run.docker.image~"$TAG": only $CUTOVER_APP and $CUTOVER_VERSION@6`}},
		{desc: "an image that is no reference", src: strings.Replace(dockerValid, "web:$CUTOVER_VERSION", `"Web App:v1"`, 1),
			want: []string{"run.docker.image~not an image reference@6"}},
		{desc: "every field wrong", src: dockerValid + `    env: {PORT: "1", 1X: y, OK: z}
    secret_env: [OK, NOPE]
    port: 70000
    memory: 1m
    cpus: 2000
    network: "my net"
  endpoints: {OK: users}
`, want: []string{"run.docker.env.PORT~set by cutover@7", "run.docker.env.1X~not a valid variable name@7",
			"run.docker.secret_env[1]~not a variable in env@8", "run.docker.port~from 1 to 65535@9",
			"run.docker.memory~at least 6m@10", "run.docker.cpus~between 0.01 and 1024@11",
			"run.docker.network~not a network name@12", "run.endpoints.OK~also set in run.docker.env@13"}},
		{desc: "wrong types and explicit zeros", src: dockerValid + "    memory: lots\n    cpus: 0\n    port: 0\n    command: serve\n",
			want: []string{"run.docker.memory~not a size@7", "run.docker.cpus~must not be 0@8", "run.docker.port~must not be 0@9",
				"run.docker.command~expected a list@10"}},
		{desc: "unknown field", src: dockerValid + "    ports: [80]\n",
			want: []string{"run.docker.ports~unknown field@7"}},
		{desc: "the host network", src: dockerValid + "    network: host\n",
			want: []string{"run.docker.network~side by side@7"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			checkProblems(t, problemsOf(t, tc.src), tc.want)
		})
	}
}

func TestDockerDefaultsAndImage(t *testing.T) {
	a := mustParse(t, dockerValid)
	d := a.Run.Docker
	if a.Run.Runtime() != RuntimeDocker || d.Port != 8080 || d.Memory != 0 || d.CPUs != 0 {
		t.Fatalf("runtime %q, docker %+v: want docker, port 8080, no limits", a.Run.Runtime(), d)
	}
	if got := d.ImageFor("web", "v2"); got != "web:v2" {
		t.Errorf("ImageFor(web, v2) = %q, want web:v2", got)
	}
	d.Image = "registry.example.com:5000/${CUTOVER_APP}/img:${CUTOVER_VERSION}-slim"
	if got := d.ImageFor("shop", "1.4.0"); got != "registry.example.com:5000/shop/img:1.4.0-slim" {
		t.Errorf("ImageFor with braces = %q", got)
	}
	b := mustParse(t, "app: shop\nroutes: [{listen: 127.0.0.1:8080}]\nrun: {docker: {build: {context: /src}}}\n")
	if got := b.Run.Docker.ImageFor("shop", "v7"); got != "shop:v7" || b.Run.Docker.Build.Dockerfile != "Dockerfile" {
		t.Errorf("built image %q, dockerfile %q: want shop:v7 and Dockerfile", got, b.Run.Docker.Build.Dockerfile)
	}
	if p := mustParse(t, valid); p.Run.Runtime() != RuntimeProcess {
		t.Errorf("a process spec's runtime is %q", p.Run.Runtime())
	}
}

func TestByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{
		"0": 0, "1000": 1000, "512k": 512 << 10, "256m": 256 << 20, "256MB": 256 << 20, "256MiB": 256 << 20,
		"1g": 1 << 30, "2G": 2 << 30, "1t": 1 << 40, " 64m ": 64 << 20, "100b": 100,
	} {
		got, err := ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
			continue
		}
		if back, err := ParseByteSize(got.String()); err != nil || back != got {
			t.Errorf("%q does not round-trip through %q: %d, %v", in, got.String(), back, err)
		}
	}
	for _, bad := range []string{"", "m", "-1m", "1.5g", "12x", "1 000", "99999999999999g"} {
		if got, err := ParseByteSize(bad); err == nil {
			t.Errorf("ParseByteSize(%q) = %d, want an error", bad, got)
		}
	}
	if s := ByteSize(1536 << 20).String(); s != "1536m" {
		t.Errorf("1536m writes as %q", s)
	}
}

// TestDockerSecrets: run.docker.secret_env is masked like run.process.secret_env, in the
// redacted spec, in Secrets, and for hooks that reuse a name.
func TestDockerSecrets(t *testing.T) {
	a := mustParse(t, dockerValid+`    env: {DB_PASSWORD: docker-secret-1, LOG_LEVEL: info}
    secret_env: [DB_PASSWORD]
hooks:
  - name: migrate
    at: before_start
    command: {argv: [./migrate], env: {DB_PASSWORD: hook-secret-2}}
`)
	out, err := a.Redacted().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"docker-secret-1", "hook-secret-2"} {
		if strings.Contains(string(out), secret) {
			t.Errorf("the redacted spec shows %s:\n%s", secret, out)
		}
	}
	if !strings.Contains(string(out), "LOG_LEVEL: info") || a.Run.Docker.Env["DB_PASSWORD"] != "docker-secret-1" {
		t.Errorf("redaction lost a value it should keep, or changed the original:\n%s", out)
	}
	if got := NewMasker(a).Mask("dsn=docker-secret-1 hook=hook-secret-2"); got != "dsn=****** hook=******" {
		t.Errorf("Mask = %q", got)
	}
}
