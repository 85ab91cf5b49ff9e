// Package httpx holds what both stand-ins' HTTP servers share: request metrics in the shape
// the platform's alerts and dashboards read, the X-Pod-Name header, JSON replies and the
// server settings.
package httpx

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"qingyu.local/verify/standins/internal/metrics"
)

// PodHeader names the pod that answered, on every response (load tests count pods by it).
const PodHeader = "X-Pod-Name"

// Instrumentation is the app's metric registry and its HTTP families.
type Instrumentation struct {
	Registry *metrics.Registry
	requests *metrics.CounterVec
	duration *metrics.HistogramVec
	inFlight *metrics.GaugeVec
}

// NewInstrumentation registers http_requests_total{method,handler,status},
// http_request_duration_seconds{method,handler}, http_requests_in_flight, standin_info,
// standin_ready and the process families. The label names follow
// prometheus-fastapi-instrumentator (handler = the route template, never the raw path).
func NewInstrumentation(app, pod string, start time.Time, ready func() bool) *Instrumentation {
	reg := metrics.NewRegistry()
	in := &Instrumentation{
		Registry: reg,
		requests: reg.NewCounterVec("http_requests_total", "Total number of HTTP requests by method, handler and status code.", "method", "handler", "status"),
		duration: reg.NewHistogramVec("http_request_duration_seconds", "HTTP request duration in seconds by method and handler.", metrics.DefaultBuckets, "method", "handler"),
		inFlight: reg.NewGaugeVec("http_requests_in_flight", "HTTP requests being served."),
	}
	reg.NewGaugeVec("standin_info", "Which stand-in this is, always 1.", "app", "pod").Set(1, app, pod)
	reg.NewGaugeFunc("standin_ready", "1 while /health answers 200 (ready), 0 after SIGTERM.", func() (float64, bool) {
		if ready() {
			return 1, true
		}
		return 0, true
	})
	reg.RegisterProcess(start)
	return in
}

// Wrap counts and times every request that next serves, and sets X-Pod-Name. next must be an
// *http.ServeMux (or a handler that sets r.Pattern) for the handler label; anything that
// matched no route is counted as handler="other".
func (in *Instrumentation) Wrap(pod string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		in.inFlight.Add(1)
		defer in.inFlight.Add(-1)
		w.Header().Set(PodHeader, pod)
		rw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(rw, r)
		handler := "other"
		if p := r.Pattern; p != "" {
			if i := strings.IndexByte(p, ' '); i >= 0 {
				p = p[i+1:]
			}
			handler = strings.TrimSuffix(p, "{$}")
		}
		status := rw.status
		if status == 0 {
			status = http.StatusOK
		}
		in.requests.Inc(r.Method, handler, strconv.Itoa(status))
		in.duration.Observe(time.Since(start).Seconds(), r.Method, handler)
	})
}

// Requests returns a counter value (for tests).
func (in *Instrumentation) Requests(method, handler, status string) float64 {
	return in.requests.Value(method, handler, status)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets SSE flush through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap serves http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// JSON writes v as a JSON reply with this status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

// Health serves GET /health: 200 while ready() holds, else 503 (readiness drops after SIGTERM
// while the server keeps serving everything else).
func Health(app, pod string, ready func() bool) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if ready() {
			JSON(w, http.StatusOK, map[string]string{"status": "ok", "app": app, "pod": pod})
			return
		}
		JSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "app": app, "pod": pod})
	}
}

// Root serves GET /: 200 with the app and pod name (the target of load tests through a Service).
func Root(app, pod string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		JSON(w, http.StatusOK, map[string]string{"app": app, "pod": pod})
	}
}

// NewServer returns an http.Server for h with header and idle timeouts and no write timeout
// (SSE streams are long).
func NewServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}
