// Command app is the program the docker driver's tests run in a FROM scratch image, built
// static by the tests. Its first argument picks the behaviour of runtimetest.Harness.App
// ("serve", "crash", "ignore-term", "log") or one of the driver's own tests: "alloc" touches
// memory until it is killed. Every behaviour that serves answers GET /env/{name} with the
// value of an environment variable. It runs as PID 1, so it handles SIGTERM itself.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	behaviour := "serve"
	if len(os.Args) > 1 {
		behaviour = os.Args[1]
	}
	release := os.Getenv("CUTOVER_VERSION")
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	switch behaviour {
	case "serve":
	case "crash":
		time.Sleep(200 * time.Millisecond)
		os.Exit(3)
	case "ignore-term":
		stop()
		signal.Ignore(syscall.SIGTERM)
		ctx = context.Background()
	case "log":
		for i := 1; i <= 10; i++ {
			fmt.Fprintf(os.Stdout, "hello from %s stdout %d\n", release, i)
			fmt.Fprintf(os.Stderr, "hello from %s stderr %d\n", release, i)
		}
	case "alloc":
		var keep [][]byte
		for {
			b := make([]byte, 1<<20)
			for i := range b {
				b[i] = 1
			}
			keep = append(keep, b)
			if len(keep)%2 == 0 {
				fmt.Printf("allocated %d MiB\n", len(keep))
			}
		}
	default:
		fmt.Fprintf(os.Stderr, "unknown behaviour %q\n", behaviour)
		os.Exit(2)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, release) })
	mux.HandleFunc("/env/{name}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, os.Getenv(r.PathValue("name")))
	})
	srv := &http.Server{Addr: ":" + os.Getenv("PORT"), Handler: mux}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
