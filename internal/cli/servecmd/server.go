package servecmd

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/internal/apiserver"
	"github.com/cutover/cutover/internal/authfail"
	"github.com/cutover/cutover/internal/daemon"
	"github.com/cutover/cutover/internal/egress"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/handoff"
)

func newServerCmd() *cobra.Command {
	var (
		configPath  string
		cfg         daemon.Config
		verbose     bool
		embedded    bool
		egressAllow []string
	)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane and the router: the API the other commands talk to",
		Long: `Runs cutover: the deployment engine and the API, and the router (the data plane) as its
own process, ` + "`cutover router --data-dir DIR`" + `, started when none serves the data dir.
The router keeps serving, with the last split, while the server is stopped, killed or
restarting; the server restarts it if it dies. --embedded-router runs it inside the server
instead (then stopping the server stops traffic). Everything cutover keeps lives in
the data dir (--data-dir, env CUTOVER_DATA_DIR, default $XDG_STATE_HOME/cutover or
~/.local/state/cutover; mode 0700, every file in it 0600): the API tokens, state.db, the
instances' records and logs, the last routing table, and the API socket.

The API is served on the unix socket (--socket, default <data dir>/cutover.sock; mode 0600, no token needed) and on --listen over TCP,
where every request needs "Authorization: Bearer <token>". Two tokens are generated at first
start: token (admin, every route) and token-readonly (a viewer's: reads and event streams;
anything that would change something answers 403). ` + "`cutover token [--read-only]`" + ` prints
them; delete a file and restart to replace its token. A --listen address that is not
loopback is refused unless it is served over TLS (--tls-cert, --tls-key) or
--insecure-non-loopback is given (logged loudly on every start).

Apps run as local processes (run.process) or as Docker containers (run.docker). The Docker
engine is --docker-host (default: DOCKER_HOST, else unix:///var/run/docker.sock), contacted
only when an app uses it: the server starts fine without Docker, and applying a docker app
while the engine does not answer is refused with the reason. Containers carry the label
cutover.owner=<the ID in <data dir>/owner-id>, so a server only ever adopts, stops or reaps
its own.

Beyond this machine, apps run on the engines they name: ECS task sets or Auto Scaling groups
behind an ALB or Route 53 (run.ecs, run.asg; the AWS credentials of the server's environment),
releases at their own endpoints behind DNS (run.external), or Deployments in a Kubernetes
cluster behind a Service selector or a Gateway API HTTPRoute (run.kubernetes; the spec's
kubeconfig, else $KUBECONFIG, ~/.kube/config or the pod's service account).

The web dashboard is served at / on the same listener (http://127.0.0.1:7070/ by default):
apps, live traffic split and signals, deployment timelines, history, and the actions. Log in
with the output of ` + "`cutover token`" + ` (admin) or ` + "`cutover token --read-only`" + ` (viewer: no
actions). It keeps a session cookie (HttpOnly, SameSite=Strict, Secure over TLS) for 12 hours,
held in the server's memory: a restart logs everyone out.

At start running instances (processes and containers) are re-adopted and deployments in
progress resume where they were; the router serves its last table throughout.

SIGTERM or SIGINT: the API stops accepting calls, deployments in progress are saved (the
next start resumes them), and the server exits 0. The router and the instances keep running
and serving, to be re-adopted by the next start (stop the router with SIGTERM to its PID; an
embedded router drains for up to 30s).

Hostile clients on the TCP listener: credentials are checked on the request's head, before
any body is read; a request without valid ones is answered 401 and its connection closed.
A client must send a head within --header-timeout (5s) and a body within --body-timeout
(30s) after it, or is disconnected. A wrong token waits --auth-fail-delay (1s) before its
401; past --auth-fail-limit (10) wrong tokens from one address less than a minute apart it
gets 429, and each such burst is logged once. A token or dashboard session may hold
--max-streams-per-token (32) event streams open at once; beyond it gets 429. At most
--max-unauth-conns-per-ip (16) connections per address and --max-unauth-conns (256) in all
may be open without having sent an authenticated request; past either the oldest is closed.

Outbound calls: HTTP hooks with a url, webhooks and external analysis checks are made from
this process, with its network access (loopback and private addresses included).
--egress-allow limits them to host names, "*." wildcards, IP addresses or CIDR blocks, for
every app; an app's egress.allow can only narrow that. Default: any host.

--config FILE (YAML or JSON) may set data_dir, socket, listen and docker_host; flags and
environment variables override it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if configPath != "" {
				f, err := daemon.LoadFile(configPath)
				if err != nil {
					return err
				}
				fl := cmd.Flags()
				if f.DataDir != nil && !fl.Changed("data-dir") && os.Getenv("CUTOVER_DATA_DIR") == "" {
					cfg.DataDir = *f.DataDir
				}
				if f.Socket != nil {
					cfg.Socket = *f.Socket
				}
				if f.Listen != nil && !fl.Changed("listen") {
					cfg.Listen = *f.Listen
				}
				if f.DockerHost != nil && !fl.Changed("docker-host") {
					cfg.DockerHost = *f.DockerHost
				}
				if f.DNS != nil && !fl.Changed("dns") {
					cfg.DNS = *f.DNS
				}
			}
			if len(egressAllow) > 0 {
				p, err := egress.Parse("cutover server --egress-allow", egressAllow)
				if err != nil {
					return fmt.Errorf("--egress-allow: %w", err)
				}
				cfg.Egress = p
			}
			// The global --socket names the server's socket too, when given.
			if fl := cmd.Flags().Lookup("socket"); fl != nil && (fl.Changed || os.Getenv("CUTOVER_SOCKET") != "") {
				cfg.Socket = fl.Value.String()
			}
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			cfg.Logger = newLogger(cmd.ErrOrStderr(), level)
			if !embedded {
				exe, err := handoff.Executable()
				if err != nil {
					return err
				}
				cfg.RouterExe = exe
			}
			return daemon.Run(cmd.Context(), cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "config file (YAML or JSON) with data_dir, socket, listen, docker_host")
	f.StringVar(&cfg.DataDir, "data-dir", daemon.DefaultDataDir(), "where the server keeps its state (env CUTOVER_DATA_DIR)")
	f.StringVar(&cfg.Listen, "listen", daemon.DefaultListen, `TCP address of the API ("" for none)`)
	f.StringVar(&cfg.TLSCert, "tls-cert", "", "serve the TCP API over TLS with this certificate (PEM); then --listen may be non-loopback")
	f.StringVar(&cfg.TLSKey, "tls-key", "", "the TLS certificate's private key (PEM)")
	f.BoolVar(&cfg.InsecureNonLoopback, "insecure-non-loopback", false, "allow a --listen address that is not loopback (no TLS: the token travels in clear)")
	f.StringVar(&cfg.DockerHost, "docker-host", "", "the Docker engine for apps with run.docker (default: DOCKER_HOST, else unix:///var/run/docker.sock)")
	f.StringVar(&cfg.DNS, "dns", "", `answer the names of apps with traffic.dns on this address, UDP and TCP (like 127.0.0.1:5353; "" for none)`)
	f.DurationVar(&cfg.HeaderTimeout, "header-timeout", daemon.DefaultHeaderTimeout, "a TCP client must send a request's head within this, or is disconnected")
	f.DurationVar(&cfg.BodyTimeout, "body-timeout", daemon.DefaultBodyTimeout, "a TCP client must send a request's body within this after its head, or is disconnected (event streams are not affected)")
	f.DurationVar(&cfg.AuthFailDelay, "auth-fail-delay", authfail.DefaultDelay, "a wrong token (API or dashboard login) waits this long before its answer")
	f.IntVar(&cfg.AuthFailLimit, "auth-fail-limit", authfail.DefaultLimit, "wrong tokens from one address, less than a minute apart, answered 401 before the rest get 429")
	f.IntVar(&cfg.MaxStreamsPerToken, "max-streams-per-token", apiserver.DefaultMaxStreams, "event streams open at once per token or dashboard session; beyond it 429 (the unix socket is not bounded)")
	f.IntVar(&cfg.MaxUnauthConns, "max-unauth-conns", daemon.DefaultMaxUnauthConns, "TCP connections that have not sent an authenticated request, in total; past it the oldest is closed")
	f.IntVar(&cfg.MaxUnauthConnsPerIP, "max-unauth-conns-per-ip", daemon.DefaultMaxUnauthConnsPerIP, "the same, per client address")
	f.IntVar(&cfg.Limits.MaxApps, "max-apps", engine.DefaultLimits.MaxApps, "apps the server holds; applying one more is refused (409) until one is deleted")
	f.IntVar(&cfg.Limits.KeepDeployments, "keep-deployments", engine.DefaultLimits.KeepDeployments, "deployments kept per app, with their events; older ones are deleted as a new one starts (the one in progress and the newest success always stay)")
	f.IntVar(&cfg.Limits.KeepReleases, "keep-releases", engine.DefaultLimits.KeepReleases, "releases kept per app besides those a kept deployment names; older ones are deleted as a deployment starts")
	f.StringSliceVar(&egressAllow, "egress-allow", nil, `hosts hooks with a url, webhooks and external checks may reach, for every app: names, "*." wildcards, IPs or CIDRs, comma-separated or repeated (default: any host)`)
	f.BoolVarP(&verbose, "verbose", "v", false, "log debug detail")
	f.BoolVar(&embedded, "embedded-router", false, "run the router inside the server (traffic then stops with it) instead of as its own process")
	return cmd
}
