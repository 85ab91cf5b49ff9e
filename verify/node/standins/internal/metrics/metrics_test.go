package metrics

import (
	"strings"
	"testing"
	"time"
)

func TestTextFormat(t *testing.T) {
	r := NewRegistry()
	c := r.NewCounterVec("http_requests_total", "Requests.\nTwo lines.", "method", "status")
	c.Inc("GET", "200")
	c.Add(2, "GET", "200")
	c.Inc("POST", `5"0\0`)
	h := r.NewHistogramVec("http_request_duration_seconds", "Durations.", []float64{0.1, 1}, "handler")
	h.Observe(0.05, "/a")
	h.Observe(0.5, "/a")
	h.Observe(3, "/a")
	r.NewGaugeFunc("up_ish", "A gauge.", func() (float64, bool) { return 1, true })
	r.NewGaugeFunc("absent", "Omitted.", func() (float64, bool) { return 0, false })

	var b strings.Builder
	r.Write(&b)
	want := `# HELP http_requests_total Requests.\nTwo lines.
# TYPE http_requests_total counter
http_requests_total{method="GET",status="200"} 3
http_requests_total{method="POST",status="5\"0\\0"} 1
# HELP http_request_duration_seconds Durations.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{handler="/a",le="0.1"} 1
http_request_duration_seconds_bucket{handler="/a",le="1"} 2
http_request_duration_seconds_bucket{handler="/a",le="+Inf"} 3
http_request_duration_seconds_sum{handler="/a"} 3.55
http_request_duration_seconds_count{handler="/a"} 3
# HELP up_ish A gauge.
# TYPE up_ish gauge
up_ish 1
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestProcessFamilies(t *testing.T) {
	r := NewRegistry()
	r.RegisterProcess(time.Unix(1700000000, 0))
	var b strings.Builder
	r.Write(&b)
	for _, want := range []string{"process_start_time_seconds 1.7e+09", "# TYPE process_cpu_seconds_total counter",
		"# TYPE process_resident_memory_bytes gauge", "go_goroutines "} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in\n%s", want, b.String())
		}
	}
}
