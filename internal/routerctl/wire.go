package routerctl

import (
	"time"

	"github.com/cutover/cutover/internal/router"
	"github.com/cutover/cutover/internal/signals"
)

// Status is what GET /v1/ping answers.
type Status struct {
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	Apps    int       `json:"apps"`
	// Upgrades counts the processes this router's sockets went through before this one.
	Upgrades int `json:"upgrades"`
}

type versionWire struct {
	Role    string                      `json:"role"`
	Version string                      `json:"version"`
	Total   signals.Snapshot            `json:"total"`
	ByID    map[string]signals.Snapshot `json:"by_id"`
}

// signalsWire is router.AppSignals with the counters the in-process type keeps out of JSON.
type signalsWire struct {
	App         string        `json:"app"`
	GreenWeight int           `json:"green_weight"`
	Window      time.Duration `json:"window"`
	Blue        versionWire   `json:"blue"`
	Green       versionWire   `json:"green"`
	Sticky      []int         `json:"sticky,omitempty"`
}

func toWire(s router.AppSignals) signalsWire {
	v := func(x router.VersionSignals) versionWire {
		return versionWire{Role: x.Role, Version: x.Version, Total: x.Total, ByID: x.ByID}
	}
	return signalsWire{App: s.App, GreenWeight: s.GreenWeight, Window: s.Window, Blue: v(s.Blue), Green: v(s.Green), Sticky: s.Sticky}
}

func fromWire(w signalsWire) router.AppSignals {
	v := func(x versionWire) router.VersionSignals {
		return router.VersionSignals{Role: x.Role, Version: x.Version, Total: x.Total, ByID: x.ByID}
	}
	return router.AppSignals{App: w.App, GreenWeight: w.GreenWeight, Window: w.Window, Blue: v(w.Blue), Green: v(w.Green), Sticky: w.Sticky}
}

type waitRequest struct {
	IDs      []string  `json:"ids"`
	Deadline time.Time `json:"deadline"`
}

type waitResponse struct {
	Remaining int `json:"remaining"`
}

type errorBody struct {
	Error string `json:"error"`
}
