package cli

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/internal/api"
)

func newWhyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "why APP",
		Short: "Say what the app's latest deployment waits for, and the evidence for its last decision",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, asJSON, err := g.session()
			if err != nil {
				return err
			}
			w, err := c.Why(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), w)
			}
			fmt.Fprintln(cmd.OutOrStdout(), safe(w.Text))
			return nil
		},
	}
	g.addOutput(cmd)
	return cmd
}

// controlCommands act on the deployment in progress.
var controlCommands = []struct{ name, short string }{
	{"promote", "Skip the remaining steps: give green all traffic now"},
	{"approve", "Pass the approval gate the deployment waits at"},
	{"pause", "Hold the deployment at its current step"},
	{"resume", "Continue a paused deployment"},
	{"abort", "End the deployment and send all traffic back to blue"},
}

func newControlCmd(g *globals, c struct{ name, short string }) *cobra.Command {
	cmd := &cobra.Command{
		Use:   c.name + " APP",
		Short: c.short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.act(cmd, func(ctx context.Context, cl *api.Client) (api.Deployment, error) {
				return command(ctx, cl, args[0], c.name)
			})
		},
	}
	g.addOutput(cmd)
	return cmd
}

func newRollbackCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollback APP",
		Short: "Return traffic to the previous version after a successful deployment",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.act(cmd, func(ctx context.Context, cl *api.Client) (api.Deployment, error) {
				return cl.Rollback(ctx, args[0])
			})
		},
	}
	g.addOutput(cmd)
	return cmd
}

// command sends a command and waits (up to settleWait) for the deployment to show its
// effect, so what is printed is the resulting phase, not the one before.
func command(ctx context.Context, c *api.Client, app, name string) (api.Deployment, error) {
	before, err := c.Command(ctx, app, name)
	if err != nil {
		return before, err
	}
	settled := func(d api.Deployment) bool {
		switch name {
		case "abort":
			return d.Terminal
		case "pause":
			return d.Paused || d.Terminal
		case "resume":
			return !d.Paused || d.Terminal
		}
		return d.Terminal || d.Phase != before.Phase || d.Step != before.Step || d.Weight != before.Weight
	}
	deadline := time.Now().Add(settleWait)
	for d := before; ; {
		if settled(d) || time.Now().After(deadline) {
			d.Events = nil
			return d, nil
		}
		select {
		case <-ctx.Done():
			return d, nil
		case <-time.After(50 * time.Millisecond):
		}
		if now, err := c.Deployment(ctx, before.ID); err == nil {
			d = now
		}
	}
}

// settleWait bounds how long a command waits to see its effect recorded.
const settleWait = 3 * time.Second

// act runs one command on the server and prints the deployment it answers with.
func (g *globals) act(cmd *cobra.Command, do func(context.Context, *api.Client) (api.Deployment, error)) error {
	c, asJSON, err := g.session()
	if err != nil {
		return err
	}
	d, err := do(cmd.Context(), c)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(cmd.OutOrStdout(), d)
	}
	fmt.Fprintln(cmd.OutOrStdout(), safe(fmt.Sprintf("%s %s (green %s at %s): %s", d.ID, d.Phase, d.Green, percentText(d.Weight), d.Reason)))
	return nil
}

func newHistoryCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "history APP",
		Short: "List the app's deployments, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, asJSON, err := g.session()
			if err != nil {
				return err
			}
			hist, err := c.History(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				if hist == nil {
					hist = []api.Deployment{}
				}
				return printJSON(cmd.OutOrStdout(), hist)
			}
			printHistory(cmd.OutOrStdout(), hist, time.Now())
			return nil
		},
	}
	g.addOutput(cmd)
	return cmd
}

func printHistory(w io.Writer, hist []api.Deployment, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tVERSION\tPHASE\tSTARTED\tDURATION\tREASON")
	for _, d := range hist {
		kind := "deploy"
		if d.Kind != "" {
			kind = d.Kind
		}
		end := now
		if d.EndedAt != nil {
			end = *d.EndedAt
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, kind, safe(d.Green), d.Phase,
			d.CreatedAt.Local().Format(time.DateTime), end.Sub(d.CreatedAt).Round(100*time.Millisecond), oneLine(d.Reason))
	}
	tw.Flush()
}

func newLogsCmd(g *globals) *cobra.Command {
	var (
		version string
		lines   int
		follow  bool
	)
	cmd := &cobra.Command{
		Use:   "logs APP [--version V] [--lines N] [--follow]",
		Short: "Print the last lines of the app's instances",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, asJSON, err := g.session()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			seen := map[string][]string{} // the last lines read, per instance
			for {
				ls, err := c.Logs(cmd.Context(), args[0], version, lines)
				if err != nil {
					return err
				}
				if asJSON && !follow {
					if ls == nil {
						ls = []api.LogLine{}
					}
					return printJSON(out, ls)
				}
				for _, l := range newLines(seen, ls) {
					if asJSON {
						if err := printJSON(out, l); err != nil {
							return err
						}
						continue
					}
					fmt.Fprintf(out, "%s  %s\n", safe(l.Instance), oneLine(l.Line))
				}
				if !follow {
					return nil
				}
				select {
				case <-cmd.Context().Done():
					return nil
				case <-time.After(time.Second):
				}
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&version, "version", "", "only the instances of this version")
	f.IntVarP(&lines, "lines", "n", 100, "how many of the last lines of each instance")
	f.BoolVarP(&follow, "follow", "f", false, "keep printing new lines, every second")
	g.addOutput(cmd)
	return cmd
}

// newLines returns the lines of ls not printed yet, remembering them in seen: per instance,
// the new tail starts after the longest overlap of the previous read's end with this read's
// start.
func newLines(seen map[string][]string, ls []api.LogLine) []api.LogLine {
	byInst := map[string][]string{}
	var order []string
	for _, l := range ls {
		if _, ok := byInst[l.Instance]; !ok {
			order = append(order, l.Instance)
		}
		byInst[l.Instance] = append(byInst[l.Instance], l.Line)
	}
	var out []api.LogLine
	for _, inst := range order {
		cur, prev := byInst[inst], seen[inst]
		skip := 0
		for k := min(len(prev), len(cur)); k > 0; k-- {
			if slices.Equal(prev[len(prev)-k:], cur[:k]) {
				skip = k
				break
			}
		}
		for _, line := range cur[skip:] {
			out = append(out, api.LogLine{Instance: inst, Line: line})
		}
		seen[inst] = cur
	}
	return out
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print cutover's version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), buildVersion())
		},
	}
}

// buildVersion is the main module's version as the Go toolchain recorded it, or "dev".
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
