package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/internal/api"
)

// globals are the flags every client command shares: where the server is and how to print.
type globals struct {
	socket, server, token string
	output                string
}

func (g *globals) register(root *cobra.Command) {
	f := root.PersistentFlags()
	f.StringVar(&g.socket, "socket", envOr("CUTOVER_SOCKET", api.DefaultSocket(api.DefaultDataDir())),
		"the server's unix socket (env CUTOVER_SOCKET)")
	f.StringVar(&g.server, "server", os.Getenv("CUTOVER_SERVER"),
		"talk to the server over TCP at this URL instead of the socket, e.g. http://127.0.0.1:7070 (env CUTOVER_SERVER)")
	f.StringVar(&g.token, "token", os.Getenv("CUTOVER_TOKEN"),
		"bearer token for --server (env CUTOVER_TOKEN): the admin token, or the read-only one, which may only read (see: cutover token); default: the data dir's token file when --server is loopback")
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// addOutput gives a read command its -o/--output flag.
func (g *globals) addOutput(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&g.output, "output", "o", "table", "output format: table or json")
}

func (g *globals) json() (bool, error) {
	switch g.output {
	case "", "table":
		return false, nil
	case "json":
		return true, nil
	}
	return false, fmt.Errorf("--output %q: want table or json", g.output)
}

// client is the API client the flags describe.
func (g *globals) client() (*api.Client, error) {
	if g.server == "" {
		return api.NewUnix(g.socket), nil
	}
	u, err := url.Parse(g.server)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("--server %q: want a URL such as http://127.0.0.1:7070", g.server)
	}
	tok := g.token
	if tok == "" && loopbackHost(u.Hostname()) {
		if b, err := os.ReadFile(filepath.Join(api.DefaultDataDir(), api.TokenFile)); err == nil {
			tok = strings.TrimSpace(string(b))
		}
	}
	return api.NewTCP(g.server, tok, nil), nil
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// printJSON prints v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// session is what a command needs first: the API client, and whether to print JSON.
func (g *globals) session() (*api.Client, bool, error) {
	asJSON, err := g.json()
	if err != nil {
		return nil, false, err
	}
	c, err := g.client()
	return c, asJSON, err
}
