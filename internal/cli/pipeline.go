package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/internal/api"
)

const pipelineExitHelp = `Exit status with --wait:
  0  the run succeeded: the commit serves production
  1  any other error (the server could not be reached, the request was refused, ...)
  3  the run failed (a stage's last output lines say why; a failed build or test never touches traffic)
  4  the run was superseded by a newer commit, or canceled
  5  the run waits for approval: continue it with ` + "`cutover pipeline approve APP`" + `
  6  --timeout passed before the run ended; it goes on in the server`

func newPipelineCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pipeline",
		Short: "Take commits of the app's git repository to production (the spec's pipeline section)",
	}
	cmd.AddCommand(newPipelineRunCmd(g), newPipelineStatusCmd(g), newPipelineHistoryCmd(g), newPipelineLogsCmd(g), newPipelineApproveCmd(g))
	return cmd
}

func newPipelineRunCmd(g *globals) *cobra.Command {
	var commit string
	var wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "run APP",
		Short: "Queue a run of the branch head (or of --commit); it supersedes the runs still queued",
		Long:  "Queue a run of the app's pipeline: the commit is checked out clean, built, tested, approved if the spec asks, and deployed as the release named by its short SHA.\n\n" + pipelineExitHelp,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, asJSON, err := g.session()
			if err != nil {
				return err
			}
			run, err := c.RunPipeline(cmd.Context(), args[0], api.PipelineRunRequest{Commit: commit})
			if err != nil {
				return err
			}
			if wait {
				run, err = waitRun(cmd.Context(), c, run.ID, timeout)
				if err != nil {
					return err
				}
			}
			if asJSON {
				if err := printJSON(cmd.OutOrStdout(), run); err != nil {
					return err
				}
			} else {
				printRun(cmd.OutOrStdout(), run, time.Now())
			}
			if wait {
				return runExit(run)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&commit, "commit", "", "the commit to take, a SHA (7-40 hex); default the branch head")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the run to end (or reach an approval gate)")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Minute, "with --wait, the longest to wait")
	g.addOutput(cmd)
	return cmd
}

// waitRun polls run id until it ends, waits for approval, or timeout passes.
func waitRun(ctx context.Context, c *api.Client, id string, timeout time.Duration) (api.PipelineRun, error) {
	deadline := time.Now().Add(timeout)
	for {
		run, err := c.PipelineRun(ctx, id)
		if err != nil {
			return run, err
		}
		if terminalRun(run.Phase) || run.Phase == "waiting_approval" || time.Now().After(deadline) {
			return run, nil
		}
		select {
		case <-ctx.Done():
			return run, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func terminalRun(phase string) bool {
	return phase == "succeeded" || phase == "failed" || phase == "superseded" || phase == "canceled"
}

func runExit(run api.PipelineRun) error {
	switch run.Phase {
	case "succeeded":
		return nil
	case "failed":
		return &exitError{code: ExitFailed}
	case "superseded", "canceled":
		return &exitError{code: ExitAborted}
	case "waiting_approval":
		return &exitError{code: ExitApproval}
	}
	return &exitError{code: ExitTimeout}
}

func newPipelineStatusCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status APP",
		Short: "Show the app's latest pipeline run, stage by stage",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, asJSON, err := g.session()
			if err != nil {
				return err
			}
			runs, err := c.PipelineRuns(cmd.Context(), args[0], 1)
			if err != nil {
				return err
			}
			if len(runs) == 0 {
				if asJSON {
					return printJSON(cmd.OutOrStdout(), nil)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "app %s has no pipeline runs yet (start one with cutover pipeline run %s)\n", safe(args[0]), safe(args[0]))
				return nil
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), runs[0])
			}
			printRun(cmd.OutOrStdout(), runs[0], time.Now())
			return nil
		},
	}
	g.addOutput(cmd)
	return cmd
}

func newPipelineHistoryCmd(g *globals) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "history APP",
		Short: "List the app's pipeline runs, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, asJSON, err := g.session()
			if err != nil {
				return err
			}
			runs, err := c.PipelineRuns(cmd.Context(), args[0], limit)
			if err != nil {
				return err
			}
			if asJSON {
				if runs == nil {
					runs = []api.PipelineRun{}
				}
				return printJSON(cmd.OutOrStdout(), runs)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN\tCOMMIT\tTRIGGER\tPHASE\tSTAGES\tAUTHOR\tMESSAGE")
			for _, r := range runs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, orDash(r.Commit.Short), r.Trigger, r.Phase, stageLine(r), safe(orDash(r.Commit.Author)), safe(orDash(r.Commit.Subject)))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "at most this many runs")
	g.addOutput(cmd)
	return cmd
}

func newPipelineLogsCmd(g *globals) *cobra.Command {
	var stage string
	cmd := &cobra.Command{
		Use:   "logs APP [RUN]",
		Short: "Print a run's stage logs (the latest run by default), secrets masked",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := g.session()
			if err != nil {
				return err
			}
			var run api.PipelineRun
			if len(args) == 2 {
				if run, err = c.PipelineRun(cmd.Context(), args[1]); err != nil {
					return err
				}
			} else {
				runs, err := c.PipelineRuns(cmd.Context(), args[0], 1)
				if err != nil {
					return err
				}
				if len(runs) == 0 {
					return &exitError{code: ExitError, msg: "app " + args[0] + " has no pipeline runs yet"}
				}
				run = runs[0]
			}
			found := false
			for _, s := range run.Stages {
				if (stage != "" && s.Name != stage) || (s.Kind != "build" && s.Kind != "test") {
					continue
				}
				found = true
				log, err := c.PipelineLog(cmd.Context(), run.ID, s.Name)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "== %s %s (%s)\n%s", run.ID, s.Name, s.Status, safe(log))
			}
			if !found && stage != "" {
				return &exitError{code: ExitError, msg: fmt.Sprintf("run %s has no build or test stage %q", run.ID, stage)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&stage, "stage", "", "only this stage (build, or a test's name)")
	return cmd
}

func newPipelineApproveCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "approve APP",
		Short: "Pass the approval gate the app's pipeline run waits at: its deployment starts",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, asJSON, err := g.session()
			if err != nil {
				return err
			}
			run, err := c.ApprovePipeline(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), run)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "approved: run %s goes on to deploy %s\n", run.ID, orDash(run.Version))
			return nil
		},
	}
	g.addOutput(cmd)
	return cmd
}

// stageLine is a run's stages in one line: build✓ unit✗ deploy-.
func stageLine(r api.PipelineRun) string {
	var parts []string
	for _, s := range r.Stages {
		mark := map[string]string{"passed": "ok", "failed": "FAILED", "running": "...", "skipped": "skipped", "pending": "-"}[s.Status]
		parts = append(parts, s.Name+":"+mark)
	}
	return strings.Join(parts, " ")
}

func printRun(w io.Writer, r api.PipelineRun, now time.Time) {
	fmt.Fprintf(w, "run:      %s (%s)\n", r.ID, r.Trigger)
	fmt.Fprintf(w, "commit:   %s %s (%s)\n", orDash(r.Commit.Short), safe(r.Commit.Subject), safe(orDash(r.Commit.Author)))
	fmt.Fprintf(w, "phase:    %s\n", r.Phase)
	fmt.Fprintf(w, "reason:   %s\n", safe(r.Reason))
	if r.Deployment != "" {
		fmt.Fprintf(w, "deploy:   %s\n", r.Deployment)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tSTATUS\tDURATION\tEXIT\tNOTE")
	for _, s := range r.Stages {
		dur := s.Duration
		if dur == "" && s.Started != nil && s.Status == "running" {
			dur = now.Sub(*s.Started).Round(time.Second).String() + "…"
		}
		exit := "-"
		if s.Exit != nil {
			exit = fmt.Sprint(*s.Exit)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Name, s.Status, orDash(dur), exit, safe(s.Note))
	}
	_ = tw.Flush()
	for _, s := range r.Stages {
		if s.Status == "failed" && len(s.Tail) > 0 {
			fmt.Fprintf(w, "last output of %s:\n", s.Name)
			for _, l := range s.Tail {
				fmt.Fprintf(w, "  %s\n", safe(l))
			}
		}
	}
}
