package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/internal/api"
)

// pollEvery is how often deploy --wait reads the deployment.
const pollEvery = 250 * time.Millisecond

func newDeployCmd(g *globals) *cobra.Command {
	var (
		version string
		sets    []string
		wait    bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "deploy APP --version V [--set KEY=VALUE ...] [--wait [--timeout D]]",
		Short: "Deploy a version of an app; prints the deployment's ID",
		Long: `Starts a deployment of version V of APP with the app's current spec, and prints its ID.
--set adds or overrides environment variables of the new release (run.process.env or
run.docker.env); a name the spec lists in its secret_env stays secret (shown as ******).
With run.docker, the release runs the image run.docker.image names for V (web:$CUTOVER_VERSION
is web:V), or, with run.docker.build, the image web:V that the deployment builds first (the
build's outcome is in the events, its output in the server's log).

With --wait it follows the deployment, printing each event as it happens, and exits with a
code per outcome. Reaching an approval gate ends the wait at once with 5: the deployment
stays there until ` + "`cutover approve APP`" + ` or ` + "`cutover abort APP`" + `. --timeout (default 30m)
ends the wait with 6; the deployment itself goes on.

` + exitCodesHelp,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if version == "" {
				return errors.New("give the version to deploy with --version V")
			}
			set := map[string]string{}
			for _, kv := range sets {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return fmt.Errorf("--set %q: want KEY=VALUE", kv)
				}
				set[k] = v
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			d, err := c.Deploy(cmd.Context(), args[0], api.DeployRequest{Version: version, Set: set})
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), d.ID)
			if !wait {
				return nil
			}
			return follow(cmd.Context(), c, d.ID, timeout, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&version, "version", "", "the version to deploy, e.g. v2 (required)")
	f.StringArrayVar(&sets, "set", nil, "KEY=VALUE environment variable for the new release (repeatable)")
	f.BoolVar(&wait, "wait", false, "follow the deployment and exit with a code per outcome")
	f.DurationVar(&timeout, "timeout", 30*time.Minute, "with --wait: stop waiting after this long (exit 6)")
	return cmd
}

// follow polls the deployment, printing new events, until it ends, reaches an approval gate
// or the timeout passes; the outcome becomes the exit code.
func follow(ctx context.Context, c *api.Client, id string, timeout time.Duration, w io.Writer) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	printed := 0
	for {
		d, err := c.Deployment(ctx, id)
		if err != nil {
			return err
		}
		for _, e := range d.Events[min(printed, len(d.Events)):] {
			fmt.Fprintln(w, safe(formatEvent(e)))
		}
		printed = max(printed, len(d.Events))
		if d.Terminal {
			return outcome(d, w)
		}
		if d.Phase == "shifting" && !d.Paused {
			why, err := c.Why(ctx, d.App)
			if err != nil {
				return err
			}
			if why.Deployment == id && strings.Contains(why.Text, "waiting for approval") {
				fmt.Fprintf(w, "%s waits for approval at %s: run `cutover approve %s` to go on or `cutover abort %s`\n",
					id, percentText(d.Weight), d.App, d.App)
				return &exitError{code: ExitApproval}
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return &exitError{code: ExitTimeout, msg: fmt.Sprintf(
				"stopped waiting after %s: %s is still %s and goes on; follow it with `cutover status %s --watch`",
				timeout, id, d.Phase, d.App)}
		case <-tick.C:
		}
	}
}

// outcome prints how a deployment ended and returns its exit code.
func outcome(d api.Deployment, w io.Writer) error {
	fmt.Fprintf(w, "%s %s: %s\n", d.ID, d.Phase, safe(d.Reason))
	code := ExitError
	switch d.Phase {
	case "succeeded":
		return nil
	case "rolled_back":
		code = ExitRolledBack
	case "failed":
		code = ExitFailed
	case "aborted":
		code = ExitAborted
	}
	return &exitError{code: code}
}

func formatEvent(e api.Event) string {
	return fmt.Sprintf("%s  %-12s %5s  %s", e.At.Local().Format("15:04:05.000"), e.Phase, percentText(e.Weight), e.Message)
}

func percentText(p float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", p), "0"), ".") + "%"
}
