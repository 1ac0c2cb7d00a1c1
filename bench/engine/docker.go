package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	moby "github.com/moby/moby/client"

	"github.com/cutover/cutover/internal/runtime"
	"github.com/cutover/cutover/internal/runtime/docker"
)

// sampleImage builds the image the docker runs deploy: FROM scratch, the cutover binary
// (built static here) with its hidden sample-app command as the entrypoint. It returns the
// tag and the build context (for releases built by the deployment).
func sampleImage(d *docker.Driver, dir, repo string) (tag, contextDir string, err error) {
	contextDir = filepath.Join(dir, "image")
	if err := os.MkdirAll(contextDir, 0o755); err != nil {
		return "", "", err
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(contextDir, "cutover"), "github.com/cutover/cutover/cmd/cutover")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("build the cutover binary for the image (run from the repository): %w\n%s", err, out)
	}
	dockerfile := "FROM scratch\nCOPY cutover /cutover\nENTRYPOINT [\"/cutover\", \"sample-app\"]\n"
	if err := os.WriteFile(filepath.Join(contextDir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return "", "", err
	}
	tag = repo + ":sample"
	if err := d.Build(context.Background(), contextDir, "Dockerfile", tag, io.Discard); err != nil {
		return "", "", err
	}
	return tag, contextDir, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// deployToGreen deploys runs new versions one after the other, AllAtOnce, and measures each
// from the deploy call to the first request answered by the new version through the router.
func deployToGreen(r *rig, prefix string, runs int) ([]time.Duration, error) {
	if s, err := r.deployWait(prefix+"0", nil); err != nil || s.Phase != "succeeded" {
		return nil, fmt.Errorf("%s0: %s (%s) %v", prefix, s.Phase, s.Reason, err)
	}
	var out []time.Duration
	for i := 1; i <= runs; i++ {
		v := fmt.Sprintf("%s%d", prefix, i)
		start := time.Now()
		s, err := r.eng.Deploy(context.Background(), "bench", v, nil)
		if err != nil {
			return nil, err
		}
		for versionOf(r.url) != v {
			if time.Since(start) > 2*time.Minute {
				st, _ := r.eng.Why("bench")
				return nil, fmt.Errorf("%s never served: %s", v, st)
			}
			time.Sleep(time.Millisecond)
		}
		out = append(out, time.Since(start))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		err = r.eng.Wait(ctx, "bench")
		cancel()
		if err != nil {
			return nil, err
		}
		if s, err = r.eng.Deployment(s.ID); err != nil || s.Phase != "succeeded" {
			return nil, fmt.Errorf("%s: %s (%s) %v", v, s.Phase, s.Reason, err)
		}
	}
	return out, nil
}

// containerStartTime is a container's own start and health time: the driver's Start to the
// first 200 on /healthz at its published address, without cutover's engine in between.
func containerStartTime(d *docker.Driver, image string) (time.Duration, error) {
	ctx := context.Background()
	start := time.Now()
	in, err := d.Start(ctx, runtime.InstanceSpec{ID: "probe-" + randomHex(4), App: "probe", Release: "probe", Image: image})
	if err != nil {
		return 0, err
	}
	defer func() { _ = d.Stop(ctx, in, time.Second) }()
	for time.Since(start) < 30*time.Second {
		if resp, err := client.Get("http://" + in.Addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start), nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return 0, fmt.Errorf("the sample container never became healthy")
}

// drivers: deploy → green serving with the process driver and with the docker driver (a
// pre-built image, and an image built by each deployment from the same context).
func drivers(runs int) error {
	r, err := newRig()
	if err != nil {
		return err
	}
	defer r.close()
	if r.docker == nil {
		return fmt.Errorf("the Docker engine does not answer (%v); start dockerd, set DOCKER_HOST, or run with -docker=false", r.dockerErr)
	}
	repo, tag := "cutover-bench-"+randomHex(4), "b"+randomHex(3)+"-"
	r.images = []string{repo, "bench:" + tag + "*"} // the built releases are bench:VERSION
	image, contextDir, err := sampleImage(r.docker, r.dir, repo)
	if err != nil {
		return fmt.Errorf("the sample image: %w", err)
	}
	const base = "strategy: {preset: AllAtOnce}"
	rows := []struct {
		name, run, prefix string
	}{
		{"process", "", "p"},
		{"docker, image given (`image:`, pre-built FROM scratch)", fmt.Sprintf("docker: {image: %q}", image), "d"},
		{"docker, image built by the deployment (`build:`, cached layers)", fmt.Sprintf("docker: {build: {context: %q}}", contextDir), tag},
	}
	results := make([][]time.Duration, len(rows))
	for i, row := range rows {
		if err := r.applyRun(row.run, base, ""); err != nil {
			return err
		}
		if results[i], err = deployToGreen(r, row.prefix, runs); err != nil {
			return fmt.Errorf("%s: %w", row.name, err)
		}
	}
	var starts []time.Duration
	for range runs {
		d, err := containerStartTime(r.docker, image)
		if err != nil {
			return err
		}
		starts = append(starts, d)
	}
	fmt.Printf("## Deploy → green serving, by runtime driver (AllAtOnce, 1 instance, probes every 50 ms)\n\n")
	fmt.Printf("| runtime | median | min | max |\n|---|---:|---:|---:|\n")
	for i, row := range rows {
		fmt.Printf("| %s | %s | %s | %s |\n", row.name, ms(median(results[i])), ms(minOf(results[i])), ms(maxOf(results[i])))
	}
	fmt.Printf("| a container's own start → healthy (driver Start to first 200 on /healthz, no engine) | %s | %s | %s |\n\n",
		ms(median(starts)), ms(minOf(starts)), ms(maxOf(starts)))
	return nil
}

// removeImages removes the images matching the references (wildcards allowed), the bench's
// own: their names are random.
func removeImages(ctx context.Context, refs []string) {
	cli, err := moby.New(moby.FromEnv)
	if err != nil {
		return
	}
	defer cli.Close()
	for _, ref := range refs {
		imgs, err := cli.ImageList(ctx, moby.ImageListOptions{Filters: make(moby.Filters).Add("reference", ref)})
		if err != nil {
			continue
		}
		for _, img := range imgs.Items {
			_, _ = cli.ImageRemove(ctx, img.ID, moby.ImageRemoveOptions{Force: true, PruneChildren: true})
		}
	}
}

func minOf(ds []time.Duration) time.Duration {
	m := ds[0]
	for _, d := range ds {
		m = min(m, d)
	}
	return m
}
