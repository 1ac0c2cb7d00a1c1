package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/cutover/cutover/internal/api"
)

// signalWindow is the traffic window status shows.
const signalWindow = 10 * time.Second

func newStatusCmd(g *globals) *cobra.Command {
	var watch bool
	cmd := &cobra.Command{
		Use:   "status [APP]",
		Short: "Show the apps, or one app's latest deployment with its traffic per version",
		Long: `Without APP: a table of the apps with their blue version and the deployment in progress.
With APP: the latest deployment (phase, green's weight, step, time left in the step), what
the router saw of each version over the last 10s (requests/s, error rate, p99) and the last
reason.

--watch redraws every second on a terminal; when the output is not a terminal it prints the
view again only when the deployment moved.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, asJSON, err := g.session()
			if err != nil {
				return err
			}
			app := ""
			if len(args) == 1 {
				app = args[0]
			}
			out := cmd.OutOrStdout()
			if !watch {
				v, err := loadView(cmd.Context(), c, app)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(out, v.data())
				}
				_, err = io.WriteString(out, v.render(time.Now()))
				return err
			}
			return watchStatus(cmd.Context(), c, app, out, asJSON)
		},
	}
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "keep showing the status, every second")
	g.addOutput(cmd)
	return cmd
}

// view is one status read: the app list, or one app's latest deployment and signals.
type view struct {
	app        string
	apps       []appRow
	blue       string
	deployment *api.Deployment
	signals    *api.Signals
}

type appRow struct {
	App    api.App         `json:"app"`
	Active *api.Deployment `json:"active,omitempty"`
}

// appStatus is what -o json prints for one app.
type appStatus struct {
	App        string          `json:"app"`
	Blue       string          `json:"blue,omitempty"`
	Deployment *api.Deployment `json:"deployment,omitempty"`
	Signals    *api.Signals    `json:"signals,omitempty"`
}

func loadView(ctx context.Context, c *api.Client, app string) (*view, error) {
	v := &view{app: app}
	if app == "" {
		apps, err := c.Apps(ctx)
		if err != nil {
			return nil, err
		}
		for _, a := range apps {
			row := appRow{App: a}
			if a.Active != "" {
				if d, err := c.Deployment(ctx, a.Active); err == nil {
					d.Events = nil
					row.Active = &d
				}
			}
			v.apps = append(v.apps, row)
		}
		return v, nil
	}
	a, err := c.App(ctx, app)
	if err != nil {
		return nil, err
	}
	v.blue = a.Blue
	hist, err := c.History(ctx, app)
	if err != nil {
		return nil, err
	}
	if len(hist) > 0 {
		d := hist[0]
		v.deployment = &d
	}
	if s, err := c.Signals(ctx, app, signalWindow); err == nil {
		v.signals = &s
	}
	return v, nil
}

func (v *view) data() any {
	if v.app == "" {
		if v.apps == nil {
			return []appRow{}
		}
		return v.apps
	}
	return appStatus{App: v.app, Blue: v.blue, Deployment: v.deployment, Signals: v.signals}
}

// render draws the view as text; now computes the time left in a step.
func (v *view) render(now time.Time) string {
	var b strings.Builder
	if v.app == "" {
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tBLUE\tACTIVE\tPHASE\tWEIGHT")
		for _, r := range v.apps {
			active, phase, weight := "-", "-", "-"
			if r.Active != nil {
				active, phase, weight = r.Active.ID, r.Active.Phase, percentText(r.Active.Weight)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.App.Name, orDash(r.App.Blue), active, phase, weight)
		}
		tw.Flush()
		return safe(b.String())
	}
	fmt.Fprintf(&b, "app:      %s (blue %s)\n", v.app, orDash(v.blue))
	d := v.deployment
	if d == nil {
		b.WriteString("no deployment yet: start one with `cutover deploy " + v.app + " --version V`\n")
		return safe(b.String())
	}
	kind := "deploy"
	if d.Kind != "" {
		kind = d.Kind
	}
	fmt.Fprintf(&b, "latest:   %s (%s %s, blue %s)\n", d.ID, kind, d.Green, orDash(d.Blue))
	phase := d.Phase
	if d.Paused {
		phase += " (paused)"
	}
	fmt.Fprintf(&b, "phase:    %s\n", phase)
	fmt.Fprintf(&b, "weight:   %s %s\n", weightBar(d.Weight, 10), percentText(d.Weight))
	if d.Steps > 0 {
		fmt.Fprintf(&b, "step:     %d/%d", d.Step, d.Steps)
		if d.StepEndsAt != nil && !d.Terminal {
			fmt.Fprintf(&b, ", %s left", max(0, d.StepEndsAt.Sub(now)).Round(time.Second))
		}
		b.WriteString("\n")
	}
	if s := v.signals; s != nil {
		fmt.Fprintf(&b, "traffic over %s:\n", s.Window)
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  VERSION\t\tREQ/S\tERRORS\tP99")
		for _, vs := range []struct {
			name string
			s    api.VersionSignals
		}{{"blue", s.Blue}, {"green", s.Green}} {
			if vs.s.Version == "" {
				continue
			}
			fmt.Fprintf(tw, "  %s\t%s\t%.1f\t%.2f%%\t%.1fms\n", vs.name, vs.s.Version, vs.s.Rate, vs.s.ErrorRate*100, vs.s.P99Ms)
		}
		tw.Flush()
	}
	if d.Traffic != "" {
		fmt.Fprintf(&b, "traffic:  %s\n", d.Traffic)
	}
	fmt.Fprintf(&b, "reason:   %s\n", d.Reason)
	return safe(b.String())
}

// key is what must change for --watch to print again when the output is not a terminal.
func (v *view) key() string {
	if v.app == "" || v.deployment == nil {
		return v.render(time.Time{})
	}
	d := v.deployment
	return fmt.Sprint(d.ID, d.Phase, d.Weight, d.Step, d.Paused, d.Reason)
}

func watchStatus(ctx context.Context, c *api.Client, app string, out io.Writer, asJSON bool) error {
	tty := false
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		tty = true
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lines, last := 0, ""
	for {
		v, err := loadView(ctx, c, app)
		if err != nil {
			if ctx.Err() != nil {
				return nil // interrupted (Ctrl-C): the normal way to leave --watch
			}
			return err
		}
		switch {
		case tty && !asJSON:
			frame := v.render(time.Now())
			if lines > 0 {
				fmt.Fprintf(out, "\x1b[%dA\x1b[J", lines) // up to the previous frame, clear below
			}
			io.WriteString(out, frame)
			lines = strings.Count(frame, "\n")
		case v.key() != last:
			last = v.key()
			if asJSON {
				if err := printJSON(out, v.data()); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(out, "--- %s\n%s", time.Now().Format(time.TimeOnly), v.render(time.Now()))
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// weightBar draws a percentage as a bar of width cells: [████░░░░░░].
func weightBar(pct float64, width int) string {
	full := int(pct/100*float64(width) + 0.5)
	full = max(0, min(width, full))
	return "[" + strings.Repeat("█", full) + strings.Repeat("░", width-full) + "]"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
