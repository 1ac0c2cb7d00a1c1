package api

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"time"

	"github.com/cutover/cutover/internal/signals"
)

// RouterTable is the routing table the server's routers serve (internal/router's Table as
// JSON) with its version: Epoch names the server process that made it, Version counts its
// tables. A router following the server passes both back to wait for the next one.
type RouterTable struct {
	Epoch   int64           `json:"epoch"`
	Version uint64          `json:"version"`
	Table   json.RawMessage `json:"table"`
}

// RouterReport is what a following router tells the server every second: which table it
// serves and the cumulative counters of each instance it routes to, by app and instance ID,
// so the server's analysis sees the sum of every router's traffic.
type RouterReport struct {
	// Name identifies the router among the server's routers (default: its host name).
	Name string `json:"name"`
	// Started is when the router process started; a new value resets its counters.
	Started      time.Time `json:"started"`
	Epoch        int64     `json:"epoch"`
	TableVersion uint64    `json:"table_version"`
	// Listen lists the addresses it serves production traffic on.
	Listen []string                   `json:"listen,omitempty"`
	Apps   map[string]RouterAppReport `json:"apps"`
}

// RouterAppReport is one app's counters at a following router.
type RouterAppReport struct {
	// Instances holds each instance's counters since the router started routing to it.
	Instances map[string]signals.Snapshot `json:"instances"`
	// Sticky lists the cohort buckets of clients that came back with their cookie.
	Sticky []int `json:"sticky,omitempty"`
}

// RouterInfo describes one router of the server: its own (Local) or one following it.
type RouterInfo struct {
	Name   string   `json:"name"`
	Local  bool     `json:"local"`
	Addr   string   `json:"addr,omitempty"` // where its reports come from
	Listen []string `json:"listen,omitempty"`
	// TableVersion is the table it serves; Behind is how many tables it lags the server's
	// (0: up to date, -1: a table of another server process).
	TableVersion uint64 `json:"table_version"`
	Behind       int64  `json:"behind"`
	// LastSeen is its last report; Stale is set once it is more than StaleAfter old, and
	// its counters are then left out of the signals.
	LastSeen time.Time `json:"last_seen,omitzero"`
	Stale    bool      `json:"stale"`
}

// RouterTable waits up to wait for a table other than (epoch, version) and returns the
// server's current one (the same, when none came).
func (c *Client) RouterTable(ctx context.Context, epoch int64, version uint64, wait time.Duration) (RouterTable, error) {
	q := url.Values{"epoch": {strconv.FormatInt(epoch, 10)}, "version": {strconv.FormatUint(version, 10)}, "wait": {wait.String()}}
	var t RouterTable
	err := c.get(ctx, "/api/v1/router/table?"+q.Encode(), &t)
	return t, err
}

// ReportRouter sends a following router's report.
func (c *Client) ReportRouter(ctx context.Context, r RouterReport) error {
	return c.postJSON(ctx, "/api/v1/router/report", r, nil)
}

// Routers lists the server's routers.
func (c *Client) Routers(ctx context.Context) ([]RouterInfo, error) {
	var out []RouterInfo
	err := c.get(ctx, "/api/v1/routers", &out)
	return out, err
}
