// Package servecmd holds the commands that run cutover's parts in this process: `server`
// (the control plane and its API), `router` (the data plane alone), `demo` and the hidden
// `sample-app`. They are kept apart from package cli, whose commands only talk to a server
// through the API client, so the client side links neither the engine nor the router
// (a test checks this).
package servecmd

import (
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Commands returns the commands to add to the root.
func Commands() []*cobra.Command {
	return []*cobra.Command{newServerCmd(), newRouterCmd(), newDemoCmd(), newSampleAppCmd()}
}

// newLogger logs text on a terminal and JSON otherwise.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
