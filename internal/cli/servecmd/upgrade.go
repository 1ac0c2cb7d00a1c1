package servecmd

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/routerctl"
)

func newRouterUpgradeCmd() *cobra.Command {
	var (
		dataDir string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "upgrade",
		Short: "Replace the running router with the binary now installed, refusing no connection",
		Long: `Upgrade the router of a cutover server in place: install the new cutover binary at the
same path first, then run this. The running router starts the new binary with its listening
sockets, waits until it serves, then drains its own connections and exits. Requests in
flight finish; new connections go to the new process. If the new process fails to start,
the old one keeps serving and this command reports why.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dataDir == "" {
				dataDir = api.DefaultDataDir()
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			c := routerctl.NewClient(routerctl.SocketPath(dataDir), nil)
			before, err := c.Ping(ctx)
			if err != nil {
				return err
			}
			pid, err := c.Upgrade(ctx)
			if err != nil {
				return fmt.Errorf("upgrade the router (pid %d): %w", before.PID, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "router upgraded: pid %d now serves; pid %d drains and exits\n", pid, before.PID)
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "the server's data directory (default $CUTOVER_DATA_DIR or "+api.DefaultDataDir()+")")
	cmd.Flags().DurationVar(&timeout, "timeout", 60*time.Second, "how long the new process may take to serve")
	return cmd
}
