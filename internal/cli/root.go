// Package cli is cutover's command line: it parses flags and calls into the packages that do
// the work. It holds no logic of its own beyond presenting results.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		var ex *exitError
		if errors.As(err, &ex) {
			if ex.msg != "" {
				fmt.Fprintln(stderr, "cutover:", ex.msg)
			}
			return ex.code
		}
		fmt.Fprintln(stderr, "cutover:", err)
		return ExitError
	}
	return ExitOK
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "cutover",
		Short:         "Blue/green and canary deployments with a built-in traffic router",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	g := &globals{}
	g.register(root)
	root.AddCommand(newRouterCmd(), newSampleAppCmd(), newDemoCmd(), newServerCmd(g),
		newApplyCmd(g), newValidateCmd(g), newDeployCmd(g), newStatusCmd(g), newWhyCmd(g),
		newHistoryCmd(g), newLogsCmd(g), newRollbackCmd(g), newVersionCmd())
	for _, c := range controlCommands {
		root.AddCommand(newControlCmd(g, c))
	}
	return root
}

// newLogger logs text on a terminal and JSON otherwise.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
