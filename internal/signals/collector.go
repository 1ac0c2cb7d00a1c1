package signals

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Labels identify one recorder in exported metrics.
type Labels struct {
	App      string
	Pool     string // "blue", "green" or "draining"
	Version  string
	Instance string
}

// Source lists the recorders to export; the router implements it. EachRecorder must call fn
// once for every live recorder, with labels unique among them (a registry rejects a scrape
// with two series of the same labels), and may be called from any goroutine at scrape time.
type Source interface {
	EachRecorder(fn func(Labels, *Recorder))
}

// exportBounds are the upper bounds, in seconds, of the histogram Prometheus sees. The fine
// buckets are folded into these so that series stay few and match the usual HTTP dashboards.
var exportBounds = [...]float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

const (
	labelApp       = "app"
	labelPool      = "pool"
	labelVersion   = "version"
	labelInstance  = "instance"
	labelCodeClass = "code_class"
	labelDirection = "direction"
)

// collector turns a Source's recorders into Prometheus metrics at scrape time. It reads each
// recorder's Snapshot and nothing else, so the request path pays nothing for exporting.
type collector struct {
	src Source

	requests *prometheus.Desc
	duration *prometheus.Desc
	inFlight *prometheus.Desc
	bytes    *prometheus.Desc

	// fold maps each fine latency bucket to the first export bound at or above its upper
	// bound, or to len(exportBounds) (only +Inf) when it lies beyond the last one.
	fold [NumBuckets]int
}

// NewCollector returns a Prometheus collector for the recorders src lists. It describes its
// four metric families up front (a checked collector), so a registry verifies every scrape
// against them:
//
//   - cutover_router_requests_total{app,pool,version,instance,code_class}: counter
//   - cutover_router_request_duration_seconds{app,pool,version,instance}: histogram
//   - cutover_router_inflight_requests{app,pool,version,instance}: gauge
//   - cutover_router_bytes_total{app,pool,version,instance,direction}: counter
func NewCollector(src Source) prometheus.Collector {
	base := []string{labelApp, labelPool, labelVersion, labelInstance}
	c := &collector{
		src: src,
		requests: prometheus.NewDesc("cutover_router_requests_total",
			"Requests proxied to an instance, by status class.",
			append(base[:len(base):len(base)], labelCodeClass), nil),
		duration: prometheus.NewDesc("cutover_router_request_duration_seconds",
			"Time from receiving a request to finishing its response.",
			base, nil),
		inFlight: prometheus.NewDesc("cutover_router_inflight_requests",
			"Requests to an instance begun and not yet finished.",
			base, nil),
		bytes: prometheus.NewDesc("cutover_router_bytes_total",
			"Body bytes proxied to (in) and from (out) an instance.",
			append(base[:len(base):len(base)], labelDirection), nil),
	}
	for i := range NumBuckets {
		j := 0
		for j < len(exportBounds) && exportBounds[j] < BucketUpperBound(i).Seconds() {
			j++
		}
		c.fold[i] = j
	}
	return c
}

// codeClasses names the entries of Snapshot.Requests.
var codeClasses = [6]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.requests
	ch <- c.duration
	ch <- c.inFlight
	ch <- c.bytes
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	c.src.EachRecorder(func(l Labels, r *Recorder) {
		c.collectOne(ch, l, r.Snapshot())
	})
}

func (c *collector) collectOne(ch chan<- prometheus.Metric, l Labels, s Snapshot) {
	lv := []string{l.App, l.Pool, l.Version, l.Instance}
	for i, n := range s.Requests {
		ch <- constMetric(c.requests, prometheus.CounterValue, float64(n), append(lv, codeClasses[i])...)
	}
	ch <- constMetric(c.inFlight, prometheus.GaugeValue, float64(s.InFlight), lv...)
	ch <- constMetric(c.bytes, prometheus.CounterValue, float64(s.BytesIn), append(lv, "in")...)
	ch <- constMetric(c.bytes, prometheus.CounterValue, float64(s.BytesOut), append(lv, "out")...)

	var perBound [len(exportBounds) + 1]uint64
	var count uint64
	for i, n := range s.Latency {
		perBound[c.fold[i]] += n
		count += n
	}
	buckets := make(map[float64]uint64, len(exportBounds))
	var cum uint64
	for j, ub := range exportBounds {
		cum += perBound[j]
		buckets[ub] = cum
	}
	sum := float64(s.LatencySumNanos) / float64(time.Second)
	// NewConstHistogram rather than its Must form: a label value that is not valid UTF-8 must
	// cost one series an error at scrape time, not panic the router.
	h, err := prometheus.NewConstHistogram(c.duration, count, sum, buckets, lv...)
	if err != nil {
		h = prometheus.NewInvalidMetric(c.duration, err)
	}
	ch <- h
}

// constMetric is prometheus.MustNewConstMetric without the panic: an invalid label value
// turns into an invalid metric, which the registry reports as a scrape error.
func constMetric(d *prometheus.Desc, t prometheus.ValueType, v float64, lv ...string) prometheus.Metric {
	m, err := prometheus.NewConstMetric(d, t, v, lv...)
	if err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	return m
}
