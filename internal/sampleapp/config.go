package sampleapp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// Config says how the sample app behaves. ConfigFromEnv reads it from the environment, which
// is how a runtime starts it; tests may build one directly.
type Config struct {
	// Port is the TCP port to listen on, on all interfaces (PORT, required).
	Port int
	// Version is reported by every endpoint (CUTOVER_VERSION; SAMPLE_VERSION overrides it;
	// "dev" when neither is set).
	Version string
	// ErrorRate is the share of requests to / (and other unknown paths) answered 500, from 0
	// to 1 (SAMPLE_ERROR_RATE). It is deterministic, not random: request n fails when
	// floor(n*rate) grows (rate taken to the nearest millionth), so 0.1 fails exactly the
	// 10th, 20th, 30th ... request and any 100 consecutive requests see 10 failures.
	ErrorRate float64
	// Latency is added to every request to / (SAMPLE_LATENCY, e.g. 50ms).
	Latency time.Duration
	// StartDelay passes before the app listens, like a slow starter (SAMPLE_START_DELAY).
	StartDelay time.Duration
	// CrashAfter, counted from when the app listens, makes it exit with CrashExitCode at once,
	// without a graceful shutdown (SAMPLE_CRASH_AFTER; zero means never).
	CrashAfter time.Duration
	// Unhealthy makes /healthz answer 503 forever (SAMPLE_UNHEALTHY=true).
	Unhealthy bool
	// Hang makes the app accept connections and never answer on them (SAMPLE_HANG=true).
	Hang bool

	// exit ends the process on a crash; nil means os.Exit. Tests replace it to observe a
	// crash without losing the test process.
	exit func(code int)
}

// DefaultVersion is the version when neither CUTOVER_VERSION nor SAMPLE_VERSION is set.
const DefaultVersion = "dev"

// ConfigFromEnv reads a Config from environment variables through getenv (os.Getenv in
// production). It reports every invalid variable at once, each error naming the variable.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{Version: getenv("CUTOVER_VERSION")}
	if v := getenv("SAMPLE_VERSION"); v != "" {
		cfg.Version = v
	}
	if cfg.Version == "" {
		cfg.Version = DefaultVersion
	}
	var errs []error
	if v := getenv("PORT"); v == "" {
		errs = append(errs, errors.New("PORT: required (the TCP port to listen on)"))
	} else if p, err := strconv.Atoi(v); err != nil {
		errs = append(errs, fmt.Errorf("PORT: invalid port %q: want a number from 1 to 65535", v))
	} else {
		cfg.Port = p
	}
	if v := getenv("SAMPLE_ERROR_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("SAMPLE_ERROR_RATE: invalid number %q: want a share from 0 to 1, e.g. 0.1", v))
		} else {
			cfg.ErrorRate = r
		}
	}
	durations := []struct {
		name string
		dst  *time.Duration
	}{
		{"SAMPLE_LATENCY", &cfg.Latency},
		{"SAMPLE_START_DELAY", &cfg.StartDelay},
		{"SAMPLE_CRASH_AFTER", &cfg.CrashAfter},
	}
	for _, d := range durations {
		if v := getenv(d.name); v != "" {
			var err error
			if *d.dst, err = time.ParseDuration(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: invalid duration %q: want e.g. 250ms or 2s", d.name, v))
			}
		}
	}
	flags := []struct {
		name string
		dst  *bool
	}{
		{"SAMPLE_UNHEALTHY", &cfg.Unhealthy},
		{"SAMPLE_HANG", &cfg.Hang},
	}
	for _, f := range flags {
		if v := getenv(f.name); v != "" {
			var err error
			if *f.dst, err = strconv.ParseBool(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: invalid boolean %q: want true or false", f.name, v))
			}
		}
	}
	if len(errs) == 0 {
		// Range checks only once every value parsed, so one mistake is not reported twice.
		errs = append(errs, cfg.Validate())
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Validate reports every out-of-range field, each error naming its environment variable.
func (c Config) Validate() error {
	var errs []error
	if c.Port < 1 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("PORT: %d is not a port: want 1 to 65535", c.Port))
	}
	if math.IsNaN(c.ErrorRate) || c.ErrorRate < 0 || c.ErrorRate > 1 {
		errs = append(errs, fmt.Errorf("SAMPLE_ERROR_RATE: %v is out of range: want 0 to 1", c.ErrorRate))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"SAMPLE_LATENCY", c.Latency}, {"SAMPLE_START_DELAY", c.StartDelay}, {"SAMPLE_CRASH_AFTER", c.CrashAfter}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s: %v is negative", d.name, d.v))
		}
	}
	return errors.Join(errs...)
}

// Main runs the app configured from the environment until SIGTERM or SIGINT, logging to
// stderr, and returns the process's exit code. Tests and benchmarks that re-execute their own
// binary as the app call it from TestMain or main.
func Main() int {
	cfg, err := ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := Run(ctx, cfg, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
