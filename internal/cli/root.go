// Package cli is cutover's command line: it parses flags and calls into the packages that do
// the work. It holds no logic of its own beyond presenting results.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Main runs the command line and returns the process exit code. extra are commands that
// run parts of cutover in this process (package servecmd); main adds them.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, extra ...*cobra.Command) int {
	root := newRoot(stdout, stderr)
	root.AddCommand(extra...)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		var ex *exitError
		if errors.As(err, &ex) {
			if ex.msg != "" {
				fmt.Fprintln(stderr, "cutover:", safe(ex.msg))
			}
			return ex.code
		}
		fmt.Fprintln(stderr, "cutover:", safe(err.Error()))
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
	root.AddCommand(newApplyCmd(g), newValidateCmd(g), newDeployCmd(g), newStatusCmd(g), newWhyCmd(g),
		newHistoryCmd(g), newLogsCmd(g), newRollbackCmd(g), newPipelineCmd(g), newTokenCmd(), newVersionCmd())
	for _, c := range controlCommands {
		root.AddCommand(newControlCmd(g, c))
	}
	return root
}
