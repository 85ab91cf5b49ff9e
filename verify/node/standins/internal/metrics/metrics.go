// Package metrics is a small Prometheus text-format (0.0.4) registry: counters, gauges and
// histograms with labels, plus the process_* families that the platform's dashboards read.
// It exists so that the stand-ins need no client library.
package metrics

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// DefaultBuckets are the Prometheus client libraries' default latency buckets (seconds), as
// the Gin and FastAPI middleware export them.
var DefaultBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

type collector interface {
	write(w io.Writer)
}

// Registry holds metric families in registration order.
type Registry struct {
	mu         sync.Mutex
	collectors []collector
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{} }

func (r *Registry) add(c collector) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.collectors = append(r.collectors, c)
}

// Write writes every family in the text exposition format.
func (r *Registry) Write(w io.Writer) {
	r.mu.Lock()
	cs := append([]collector(nil), r.collectors...)
	r.mu.Unlock()
	for _, c := range cs {
		c.write(w)
	}
}

// Handler serves the registry at /metrics.
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		r.Write(w)
	})
}

type series struct {
	labels []string
	value  float64
	// histogram only
	counts []uint64
	sum    float64
	count  uint64
}

type vec struct {
	name, help, typ string
	labelNames      []string
	buckets         []float64
	mu              sync.Mutex
	series          map[string]*series
}

func newVec(name, help, typ string, labelNames []string) *vec {
	return &vec{name: name, help: help, typ: typ, labelNames: labelNames, series: map[string]*series{}}
}

func (v *vec) get(values []string) *series {
	if len(values) != len(v.labelNames) {
		panic(fmt.Sprintf("%s: %d label values for %d labels", v.name, len(values), len(v.labelNames)))
	}
	key := strings.Join(values, "\xff")
	s, ok := v.series[key]
	if !ok {
		s = &series{labels: append([]string(nil), values...)}
		if v.buckets != nil {
			s.counts = make([]uint64, len(v.buckets))
		}
		v.series[key] = s
	}
	return s
}

func (v *vec) sorted() []*series {
	out := make([]*series, 0, len(v.series))
	for _, s := range v.series {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		return strings.Join(out[i].labels, "\xff") < strings.Join(out[j].labels, "\xff")
	})
	return out
}

func header(w io.Writer, name, help, typ string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, escapeHelp(help), name, typ)
}

func (v *vec) write(w io.Writer) {
	v.mu.Lock()
	defer v.mu.Unlock()
	header(w, v.name, v.help, v.typ)
	for _, s := range v.sorted() {
		if v.typ != "histogram" {
			fmt.Fprintf(w, "%s%s %s\n", v.name, labelString(v.labelNames, s.labels, "", ""), formatFloat(s.value))
			continue
		}
		var cum uint64
		for i, b := range v.buckets {
			cum += s.counts[i]
			fmt.Fprintf(w, "%s_bucket%s %d\n", v.name, labelString(v.labelNames, s.labels, "le", formatFloat(b)), cum)
		}
		fmt.Fprintf(w, "%s_bucket%s %d\n", v.name, labelString(v.labelNames, s.labels, "le", "+Inf"), s.count)
		fmt.Fprintf(w, "%s_sum%s %s\n", v.name, labelString(v.labelNames, s.labels, "", ""), formatFloat(s.sum))
		fmt.Fprintf(w, "%s_count%s %d\n", v.name, labelString(v.labelNames, s.labels, "", ""), s.count)
	}
}

// CounterVec is a counter family.
type CounterVec struct{ v *vec }

// NewCounterVec registers a counter family.
func (r *Registry) NewCounterVec(name, help string, labelNames ...string) *CounterVec {
	c := &CounterVec{newVec(name, help, "counter", labelNames)}
	r.add(c.v)
	return c
}

// Add adds delta (>= 0) to the series with these label values.
func (c *CounterVec) Add(delta float64, values ...string) {
	if delta < 0 {
		panic("counter decreased")
	}
	c.v.mu.Lock()
	c.v.get(values).value += delta
	c.v.mu.Unlock()
}

// Inc adds one.
func (c *CounterVec) Inc(values ...string) { c.Add(1, values...) }

// Value returns the series' current value (for tests).
func (c *CounterVec) Value(values ...string) float64 {
	c.v.mu.Lock()
	defer c.v.mu.Unlock()
	return c.v.get(values).value
}

// GaugeVec is a gauge family.
type GaugeVec struct{ v *vec }

// NewGaugeVec registers a gauge family.
func (r *Registry) NewGaugeVec(name, help string, labelNames ...string) *GaugeVec {
	g := &GaugeVec{newVec(name, help, "gauge", labelNames)}
	r.add(g.v)
	return g
}

// Set sets the series' value.
func (g *GaugeVec) Set(val float64, values ...string) {
	g.v.mu.Lock()
	g.v.get(values).value = val
	g.v.mu.Unlock()
}

// Add adds delta (may be negative).
func (g *GaugeVec) Add(delta float64, values ...string) {
	g.v.mu.Lock()
	g.v.get(values).value += delta
	g.v.mu.Unlock()
}

// HistogramVec is a histogram family.
type HistogramVec struct{ v *vec }

// NewHistogramVec registers a histogram family with these upper bounds (sorted, +Inf implied).
func (r *Registry) NewHistogramVec(name, help string, buckets []float64, labelNames ...string) *HistogramVec {
	v := newVec(name, help, "histogram", labelNames)
	v.buckets = append([]float64(nil), buckets...)
	sort.Float64s(v.buckets)
	h := &HistogramVec{v}
	r.add(v)
	return h
}

// Observe records one value.
func (h *HistogramVec) Observe(val float64, values ...string) {
	h.v.mu.Lock()
	defer h.v.mu.Unlock()
	s := h.v.get(values)
	for i, b := range h.v.buckets {
		if val <= b {
			s.counts[i]++
			break
		}
	}
	s.sum += val
	s.count++
}

type funcCollector struct {
	name, help, typ string
	fn              func() (float64, bool)
}

func (f *funcCollector) write(w io.Writer) {
	v, ok := f.fn()
	if !ok {
		return
	}
	header(w, f.name, f.help, f.typ)
	fmt.Fprintf(w, "%s %s\n", f.name, formatFloat(v))
}

// NewGaugeFunc registers an unlabelled gauge read at scrape time; fn's false omits it.
func (r *Registry) NewGaugeFunc(name, help string, fn func() (float64, bool)) {
	r.add(&funcCollector{name, help, "gauge", fn})
}

// NewCounterFunc registers an unlabelled counter read at scrape time.
func (r *Registry) NewCounterFunc(name, help string, fn func() (float64, bool)) {
	r.add(&funcCollector{name, help, "counter", fn})
}

func labelString(names, values []string, extraName, extraValue string) string {
	if len(names) == 0 && extraName == "" {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n)
		b.WriteString(`="`)
		b.WriteString(escapeLabel(values[i]))
		b.WriteByte('"')
	}
	if extraName != "" {
		if len(names) > 0 {
			b.WriteByte(',')
		}
		b.WriteString(extraName)
		b.WriteString(`="`)
		b.WriteString(extraValue)
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	case math.IsNaN(f):
		return "NaN"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
