package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/internal/api"
)

func newTokenCmd() *cobra.Command {
	var (
		dataDir  string
		readOnly bool
	)
	cmd := &cobra.Command{
		Use:   "token [--read-only] [--data-dir DIR]",
		Short: "Print the API token for --server from the server's data dir",
		Long: `Prints an API token the server keeps in its data dir, for a client that talks to the
TCP API (--server URL --token T, or env CUTOVER_TOKEN). It reads the file; run it as the
user the server runs as.

The server generates two tokens at first start, each in its own file (mode 0600):
  ` + api.TokenFile + `           the admin token: every route
  ` + api.ReadOnlyTokenFile + `  the read-only token (--read-only): reads and event streams only;
                  every request that would change something answers 403 forbidden.
Give a dashboard or an on-call viewer the read-only one. To replace a token, delete its file
and restart the server.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			name := api.TokenFile
			if readOnly {
				name = api.ReadOnlyTokenFile
			}
			path := filepath.Join(dataDir, name)
			b, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("read the token: %w (has `cutover server` started with --data-dir %s, and do you run as its user?)", err, dataDir)
			}
			tok := strings.TrimSpace(string(b))
			if tok == "" {
				return fmt.Errorf("token file %s is empty: delete it and restart the server to generate a new one", path)
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&readOnly, "read-only", false, "print the read-only token instead of the admin token")
	f.StringVar(&dataDir, "data-dir", api.DefaultDataDir(), "the server's data dir (env CUTOVER_DATA_DIR)")
	return cmd
}
