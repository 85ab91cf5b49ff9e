// Package gobackend is the go-backend stand-in: HTTP only, calling python-ai over gRPC with
// the client the README's contract prescribes (dns:/// target, round_robin).
package gobackend

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"qingyu.local/verify/standins/internal/envcheck"
	"qingyu.local/verify/standins/internal/httpx"
	"qingyu.local/verify/standins/internal/lifecycle"
	"qingyu.local/verify/standins/internal/metrics"
	"qingyu.local/verify/standins/internal/whoami"
)

// App is the name of this stand-in.
const App = "go-backend"

// MaxSpreadCalls bounds /api/v1/spread.
const MaxSpreadCalls = 1000

// Options configure the stand-in.
type Options struct {
	Pod  string
	Life *lifecycle.Lifecycle
	// AITarget is AI_SERVICE_URL; empty leaves the AI endpoints answering 503.
	AITarget string
	// DialOptions are added to the contract's options (tests only: a manual resolver).
	DialOptions []grpc.DialOption
	// CallTimeout bounds each gRPC call; 0 = 3 s.
	CallTimeout time.Duration
}

// Server holds the stand-in's handlers and its gRPC client.
type Server struct {
	o       Options
	Inst    *httpx.Instrumentation
	conn    *grpc.ClientConn
	connErr error
	aiCalls *metrics.CounterVec
}

// New builds the stand-in. The gRPC client is created at once (grpc.NewClient connects
// lazily, on the first call).
func New(o Options) *Server {
	if o.CallTimeout == 0 {
		o.CallTimeout = 3 * time.Second
	}
	s := &Server{o: o, Inst: httpx.NewInstrumentation(App, o.Pod, o.Life.Start(), o.Life.Ready)}
	s.aiCalls = s.Inst.Registry.NewCounterVec("standin_ai_calls_total",
		"gRPC calls to python-ai's qingyu.v1.Whoami/Name, by the pod that answered (\"\" on error) and code.", "ai_pod", "grpc_code")
	if o.AITarget != "" {
		s.conn, s.connErr = whoami.NewClient(o.AITarget, o.DialOptions...)
	}
	return s
}

// Close closes the gRPC client.
func (s *Server) Close() {
	if s.conn != nil {
		_ = s.conn.Close()
	}
}

// HTTPHandler serves go-backend's HTTP port.
func (s *Server) HTTPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", httpx.Health(App, s.o.Pod, s.o.Life.Ready))
	mux.Handle("GET /metrics", s.Inst.Registry.Handler())
	mux.HandleFunc("GET /{$}", httpx.Root(App, s.o.Pod))
	mux.HandleFunc("GET /api/v1/whoami", s.whoami)
	mux.HandleFunc("GET /api/v1/spread", s.spread)
	mux.HandleFunc("GET /debug/env-check", envcheck.Handler(App, s.o.Pod, envcheck.GoBackend()))
	return s.Inst.Wrap(s.o.Pod, mux)
}

func (s *Server) noClient(w http.ResponseWriter) bool {
	switch {
	case s.o.AITarget == "":
		httpx.JSON(w, http.StatusServiceUnavailable, map[string]string{"error": "AI_SERVICE_URL is not set", "backend_pod": s.o.Pod})
	case s.connErr != nil:
		httpx.JSON(w, http.StatusServiceUnavailable, map[string]string{"error": "grpc.NewClient: " + s.connErr.Error(), "backend_pod": s.o.Pod})
	default:
		return false
	}
	return true
}

func (s *Server) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.o.CallTimeout)
}

func (s *Server) count(pod string, err error) {
	s.aiCalls.Inc(pod, status.Code(err).String())
}

// whoami serves GET /api/v1/whoami: one call to python-ai, answering the pod it reached.
func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	if s.noClient(w) {
		return
	}
	ctx, cancel := s.callCtx(r.Context())
	defer cancel()
	rep, err := whoami.Call(ctx, s.conn, s.o.Pod)
	s.count(rep.Pod, err)
	if err != nil {
		httpx.JSON(w, http.StatusBadGateway, map[string]string{"error": err.Error(), "code": status.Code(err).String(),
			"backend_pod": s.o.Pod, "target": s.o.AITarget})
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]string{"backend_pod": s.o.Pod, "ai_pod": rep.Pod, "ai_addr": rep.Addr, "target": s.o.AITarget})
}

// SpreadReply is /api/v1/spread's answer.
type SpreadReply struct {
	whoami.SpreadResult
	BackendPod string `json:"backend_pod"`
	Target     string `json:"target"`
}

// spread serves GET /api/v1/spread?calls=30: that many sequential calls over the one
// round-robin client, counted per python-ai pod. 200 when every call succeeded, else 502.
func (s *Server) spread(w http.ResponseWriter, r *http.Request) {
	calls := 30
	if v := r.URL.Query().Get("calls"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxSpreadCalls {
			httpx.JSON(w, http.StatusBadRequest, map[string]string{"error": "calls must be 1..1000"})
			return
		}
		calls = n
	}
	if s.noClient(w) {
		return
	}
	res := whoami.Spread(r.Context(), s.conn, s.o.Pod, calls, s.callCtx)
	for pod, n := range res.Pods {
		s.aiCalls.Add(float64(n), pod, "OK")
	}
	for code, n := range res.Codes {
		s.aiCalls.Add(float64(n), "", code)
	}
	code := http.StatusOK
	if res.Errors > 0 {
		code = http.StatusBadGateway
	}
	httpx.JSON(w, code, SpreadReply{SpreadResult: res, BackendPod: s.o.Pod, Target: s.o.AITarget})
}
