package servecmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/internal/demo"
)

func newDemoCmd() *cobra.Command {
	var (
		asJSON bool
		step   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Deploy a sample app on this machine: a canary to v2 under load, then a bad v3 rolled back by itself",
		Long: `Runs the whole product on this machine in about 15 seconds, with nothing but this binary:
the built-in sample app is deployed as v1, then v2 goes out as a canary (10% -> 50% -> 100%)
under constant load from a built-in client while a live view shows the traffic per version,
then a faulty v3 (20% of its answers are 500s) is rolled back by analysis. A summary follows:
requests and failures per deployment, the split the clients saw at each step, and v3's blast
radius. It starts a real cutover server in a temporary directory (API on a unix socket
there, no TCP API) and drives it only through the API, as a user would; the server and every
instance it started are stopped at the end and the directory is removed.

Exit status 0 when v2 succeeded with no failed request, v3 was rolled back and no process was
left behind; 1 otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find this binary to run the sample app: %w", err)
			}
			opts := demo.Options{AppCommand: []string{exe, "sample-app"}, Step: step, RouterExe: exe}
			if !asJSON {
				opts.Out = cmd.OutOrStdout()
			}
			sum, err := demo.Run(cmd.Context(), opts)
			if err != nil {
				return fmt.Errorf("demo: %w", err)
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(sum); err != nil {
					return err
				}
			} else {
				sum.Print(cmd.OutOrStdout())
			}
			if sum.V2.Outcome != "succeeded" || sum.V2.Failed != 0 || sum.V3.Outcome != "rolled_back" || sum.LeftoverProcesses != 0 {
				return errors.New("the demo did not go as it should: see the summary above")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print only the summary, as one JSON object")
	cmd.Flags().DurationVar(&step, "step", 4*time.Second, "how long each canary step bakes")
	cmd.AddCommand(newDemoPipelineCmd())
	return cmd
}

func newDemoPipelineCmd() *cobra.Command {
	var (
		asJSON bool
		step   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "pipeline",
		Short: "Take a git commit to production on this machine: built, tested and deployed by canary under load",
		Long: `Makes a git repository in a temporary directory (it needs the git CLI) and a cutover server
whose app "shop" has a pipeline over it: every commit of main is checked out clean, built into
an artifact, tested, and deployed as the release named by its short SHA. The first commit is
deployed before any client arrives; then 8 built-in clients send requests while a second commit
goes to production by canary, and the summary says how long it took from the commit to serving
all traffic, and what the clients saw. Everything started is stopped at the end and the
directory is removed.

Exit status 0 when both runs succeeded with no failed request and no process was left
behind; 1 otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find this binary to run the sample app: %w", err)
			}
			opts := demo.Options{AppCommand: []string{exe, "sample-app"}, Step: step, RouterExe: exe}
			if !asJSON {
				opts.Out = cmd.OutOrStdout()
			}
			sum, err := demo.RunPipeline(cmd.Context(), opts)
			if err != nil {
				return fmt.Errorf("demo pipeline: %w", err)
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(sum); err != nil {
					return err
				}
			} else {
				sum.Print(cmd.OutOrStdout())
			}
			if sum.First.Outcome != "succeeded" || sum.Second.Outcome != "succeeded" || sum.Second.Failed != 0 || sum.LeftoverProcesses != 0 {
				return errors.New("the pipeline demo did not go as it should: see the summary above")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print only the summary, as one JSON object")
	cmd.Flags().DurationVar(&step, "step", 3*time.Second, "how long the canary step bakes")
	return cmd
}
