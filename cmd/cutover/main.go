// Command cutover runs blue/green and canary deployments behind its own router.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/cutover/cutover/internal/cli"
	"github.com/cutover/cutover/internal/cli/servecmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, servecmd.Commands()...)
	stop()
	os.Exit(code)
}
