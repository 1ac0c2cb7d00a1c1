package servecmd

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/internal/sampleapp"
)

// newSampleAppCmd is the small HTTP app the demo and the tests deploy, built into the binary
// so nothing else is needed. Hidden: it is configured by environment variables only.
func newSampleAppCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "sample-app",
		Short:  "Serve the sample app on $PORT (for the demo and tests)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := sampleapp.ConfigFromEnv(os.Getenv)
			if err != nil {
				return err
			}
			return sampleapp.Run(cmd.Context(), cfg, cmd.ErrOrStderr())
		},
	}
}
