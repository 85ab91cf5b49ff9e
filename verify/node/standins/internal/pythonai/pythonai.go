// Package pythonai is the python-ai stand-in: HTTP (health, metrics, SSE under /api/v1/ai/)
// and gRPC (grpc.health.v1.Health and qingyu.v1.Whoami).
package pythonai

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"qingyu.local/verify/standins/internal/envcheck"
	"qingyu.local/verify/standins/internal/httpx"
	"qingyu.local/verify/standins/internal/lifecycle"
	"qingyu.local/verify/standins/internal/metrics"
	"qingyu.local/verify/standins/internal/sse"
	"qingyu.local/verify/standins/internal/whoami"
)

// App is the name of this stand-in.
const App = "python-ai"

// Stream limits.
const (
	MaxEvents   = 100000
	MaxInterval = 10 * time.Minute
	// RetryHint is sent as the stream's retry: field.
	RetryHint = time.Second
)

// Options configure the stand-in.
type Options struct {
	Pod  string
	Life *lifecycle.Lifecycle
	// MaxConnectionAge: the gRPC server's keepalive MaxConnectionAge (README: about 5 min,
	// so that clients re-resolve and new pods get traffic). 0 = 5 min.
	MaxConnectionAge time.Duration
}

// Server holds the stand-in's handlers and state.
type Server struct {
	o        Options
	Inst     *httpx.Instrumentation
	Health   *health.Server
	active   *metrics.GaugeVec
	events   *metrics.CounterVec
	streams  *metrics.CounterVec
	grpcDone *metrics.CounterVec
}

// New builds the stand-in and registers its health status with the lifecycle.
func New(o Options) *Server {
	if o.MaxConnectionAge == 0 {
		o.MaxConnectionAge = 5 * time.Minute
	}
	s := &Server{o: o, Inst: httpx.NewInstrumentation(App, o.Pod, o.Life.Start(), o.Life.Ready), Health: health.NewServer()}
	reg := s.Inst.Registry
	s.active = reg.NewGaugeVec("sse_streams_active", "SSE streams being served.")
	s.active.Set(0)
	s.events = reg.NewCounterVec("sse_events_sent_total", "SSE events sent (data events only).")
	s.streams = reg.NewCounterVec("sse_streams_total", "SSE streams ended, by outcome (done, client_gone, cutoff).", "outcome")
	s.grpcDone = reg.NewCounterVec("grpc_server_handled_total", "gRPC calls completed on the server, by service, method and code.", "grpc_service", "grpc_method", "grpc_code")

	st := healthpb.HealthCheckResponse_SERVING
	if !o.Life.Ready() {
		st = healthpb.HealthCheckResponse_NOT_SERVING
		go func() {
			for !o.Life.Ready() {
				select {
				case <-o.Life.Stopping():
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
			s.setServing(healthpb.HealthCheckResponse_SERVING)
		}()
	}
	s.setServing(st)
	// At SIGTERM every service turns NOT_SERVING, and stays so.
	o.Life.OnStop(s.Health.Shutdown)
	return s
}

func (s *Server) setServing(st healthpb.HealthCheckResponse_ServingStatus) {
	s.Health.SetServingStatus("", st)
	s.Health.SetServingStatus(whoami.ServiceName, st)
}

// HTTPHandler serves python-ai's HTTP port.
func (s *Server) HTTPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", httpx.Health(App, s.o.Pod, s.o.Life.Ready))
	mux.Handle("GET /metrics", s.Inst.Registry.Handler())
	mux.HandleFunc("GET /{$}", httpx.Root(App, s.o.Pod))
	mux.HandleFunc("GET /api/v1/ai/whoami", httpx.Root(App, s.o.Pod))
	mux.HandleFunc("GET /api/v1/ai/stream", s.stream)
	mux.HandleFunc("GET /debug/env-check", envcheck.Handler(App, s.o.Pod, envcheck.PythonAI()))
	return s.Inst.Wrap(s.o.Pod, mux)
}

// GRPCServer returns the gRPC server with the health and Whoami services.
func (s *Server) GRPCServer() *grpc.Server {
	g := grpc.NewServer(
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionAge:      s.o.MaxConnectionAge,
			MaxConnectionAgeGrace: 30 * time.Second,
		}),
		grpc.ChainUnaryInterceptor(s.countUnary),
	)
	healthpb.RegisterHealthServer(g, s.Health)
	whoami.Register(g, whoami.PodServer{Pod: s.o.Pod})
	return g
}

func (s *Server) countUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	resp, err := h(ctx, req)
	svc, method := splitMethod(info.FullMethod)
	s.grpcDone.Inc(svc, method, status.Code(err).String())
	return resp, err
}

func splitMethod(full string) (string, string) {
	full = strings.TrimPrefix(full, "/")
	if i := strings.LastIndexByte(full, '/'); i >= 0 {
		return full[:i], full[i+1:]
	}
	return "unknown", full
}

// StreamEvent is the data of each SSE "message" event.
type StreamEvent struct {
	Pod  string `json:"pod"`
	Seq  int    `json:"seq"`
	N    int    `json:"n"`
	Time string `json:"time"`
	// ResumedAfter is the Last-Event-ID the stream resumed after (0: a new stream).
	ResumedAfter int `json:"resumed_after,omitempty"`
}

func intParam(r *http.Request, key string, def, lo, hi int) (int, bool) {
	v := r.URL.Query().Get(key)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, false
	}
	return n, true
}

// stream serves GET /api/v1/ai/stream?n=5&interval_ms=500: events with ids 1..n, one every
// interval, each flushed on its own; a client that reconnects with Last-Event-ID: k gets
// k+1..n. It ends with an "event: done"; at the shutdown cutoff it ends with an
// "event: shutdown" instead, after which the client reconnects (to another pod) with
// Last-Event-ID.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	n, ok1 := intParam(r, "n", 5, 1, MaxEvents)
	ms, ok2 := intParam(r, "interval_ms", 500, 0, int(MaxInterval/time.Millisecond))
	if !ok1 || !ok2 {
		httpx.JSON(w, http.StatusBadRequest, map[string]string{"error": "n must be 1..100000 and interval_ms 0..600000"})
		return
	}
	interval := time.Duration(ms) * time.Millisecond
	last, resumed := sse.LastEventID(r)
	if !resumed {
		last = 0
	}
	sw, err := sse.NewWriter(w)
	if err != nil {
		return
	}
	s.active.Add(1)
	defer s.active.Add(-1)
	outcome := "done"
	defer func() { s.streams.Inc(outcome) }()

	if err := sw.Send(sse.Event{Retry: RetryHint, Event: "open", Data: s.js(map[string]any{"pod": s.o.Pod, "n": n, "resumed_after": last})}); err != nil {
		outcome = "client_gone"
		return
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for seq := last + 1; seq <= n; seq++ {
		if seq > last+1 {
			timer.Reset(interval)
			select {
			case <-timer.C:
			case <-r.Context().Done():
				outcome = "client_gone"
				return
			case <-s.o.Life.Cutoff():
				outcome = "cutoff"
				_ = sw.Send(sse.Event{Event: "shutdown", Data: s.js(map[string]any{"pod": s.o.Pod, "last_id": seq - 1,
					"reason": "server shutting down: reconnect with Last-Event-ID"})})
				return
			}
		}
		ev := StreamEvent{Pod: s.o.Pod, Seq: seq, N: n, Time: time.Now().UTC().Format(time.RFC3339Nano), ResumedAfter: last}
		if err := sw.Send(sse.Event{ID: strconv.Itoa(seq), Event: "message", Data: s.js(ev)}); err != nil {
			outcome = "client_gone"
			return
		}
		s.events.Inc()
	}
	_ = sw.Send(sse.Event{Event: "done", Data: s.js(map[string]any{"pod": s.o.Pod, "last_id": n})})
}

func (s *Server) js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
