package docker_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

// exe is the cutover binary, static (CGO_ENABLED=0): it runs FROM scratch.
var exe string

func TestMain(m *testing.M) { sampletest.BinaryMain(m) }

// goodDockerfile is the image of every release: the sample app and nothing else.
const goodDockerfile = "FROM scratch\nCOPY cutover /cutover\nENTRYPOINT [\"/cutover\", \"sample-app\"]\n"

// cluster is one machine's cutover over a Docker engine: a server process (which starts its
// router process) over a data dir, driven through the API socket, and one app whose name is
// unique to the test, so its images (APP:VERSION) never meet another test's.
type cluster struct {
	t       *testing.T
	dir     string
	app     string
	listen  string // the app's production listener
	context string // a build context with goodDockerfile and the binary
	c       *api.Client
	engine  *client.Client
	srv     *sampletest.Server
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	exe = sampletest.Cutover(t)
	engine, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatalf("a Docker client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := engine.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		t.Fatalf("these tests need a Docker engine (DOCKER_HOST or /var/run/docker.sock; scripts/test.sh starts one): %v", err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	cl := &cluster{t: t, dir: t.TempDir(), app: "e2e-" + hex.EncodeToString(b), listen: sampletest.FreeAddr(t), engine: engine}
	cl.context = cl.buildContext(goodDockerfile)
	cl.c = api.NewUnix(filepath.Join(cl.dir, "cutover.sock"))
	t.Cleanup(cl.cleanup)
	cl.srv = sampletest.StartServer(t, exe, cl.dir)
	return cl
}

// buildContext writes a build context: the cutover binary and the given Dockerfile.
func (cl *cluster) buildContext(dockerfile string) string {
	cl.t.Helper()
	dir := cl.t.TempDir()
	data, err := os.ReadFile(exe)
	if err != nil {
		cl.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cutover"), data, 0o755); err != nil {
		cl.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		cl.t.Fatal(err)
	}
	return dir
}

func (cl *cluster) start() { cl.srv.Start() }
func (cl *cluster) kill9() { cl.srv.Kill9() }

// owner is the server's owner ID, the value of the cutover.owner label of its containers.
func (cl *cluster) owner() string {
	cl.t.Helper()
	data, err := os.ReadFile(filepath.Join(cl.dir, "owner-id"))
	if err != nil {
		cl.t.Fatalf("the server's owner ID: %v", err)
	}
	return strings.TrimSpace(string(data))
}

// cleanup stops the server and the router, removes every container of the server's owner
// and the test's images, and shows the logs on failure.
func (cl *cluster) cleanup() {
	if cl.srv != nil {
		cl.srv.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if data, err := os.ReadFile(filepath.Join(cl.dir, "owner-id")); err == nil {
		for _, c := range cl.containersOf(strings.TrimSpace(string(data))) {
			if _, err := cl.engine.ContainerRemove(ctx, c.id, client.ContainerRemoveOptions{Force: true}); err != nil {
				cl.t.Errorf("remove container %s: %v", c.id, err)
			}
		}
	}
	imgs, err := cl.engine.ImageList(ctx, client.ImageListOptions{Filters: make(client.Filters).Add("reference", cl.app)})
	if err == nil {
		for _, img := range imgs.Items {
			if _, err := cl.engine.ImageRemove(ctx, img.ID, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil {
				cl.t.Errorf("remove image %v: %v", img.RepoTags, err)
			}
		}
	}
	if cl.t.Failed() {
		cl.t.Logf("logs:\n%s", cl.logs())
	}
	_ = cl.engine.Close()
}

func (cl *cluster) logs() string {
	if cl.srv == nil {
		return ""
	}
	return cl.srv.Logs()
}

// ctr is one container as the engine lists it.
type ctr struct {
	id, release, state string
}

// containersOf lists every container, running or not, labelled with owner.
func (cl *cluster) containersOf(owner string) []ctr {
	cl.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := cl.engine.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", "cutover.owner="+owner)})
	if err != nil {
		cl.t.Fatalf("list containers: %v", err)
	}
	var out []ctr
	for _, c := range res.Items {
		out = append(out, ctr{id: c.ID, release: c.Labels["cutover.release"], state: string(c.State)})
	}
	return out
}
