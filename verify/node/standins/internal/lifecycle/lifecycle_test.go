package lifecycle

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

type fixture struct {
	life   *Lifecycle
	url    string
	grpc   string
	sig    chan os.Signal
	runErr chan error
	hs     *health.Server
}

// start runs a Lifecycle with an HTTP server (/health, /fast, /slow?d=, /stream) and a gRPC
// health server, all on 127.0.0.1.
func start(t *testing.T, o Options) *fixture {
	t.Helper()
	o.Logger = log.New(io.Discard, "", 0)
	if testing.Verbose() {
		o.Logger = log.New(os.Stderr, "lifecycle ", log.Lmicroseconds)
	}
	f := &fixture{life: New(o), sig: make(chan os.Signal, 2), runErr: make(chan error, 1), hs: health.NewServer()}
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
		if f.life.Ready() {
			w.WriteHeader(200)
			return
		}
		w.WriteHeader(503)
	})
	mux.HandleFunc("/fast", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get("d"))
		time.Sleep(d)
		_, _ = io.WriteString(w, "slow ok")
	})
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		http.NewResponseController(w).Flush()
		select {
		case <-f.life.Cutoff():
			_, _ = io.WriteString(w, "cutoff")
		case <-r.Context().Done():
		}
	})
	hl, gl := listen(t), listen(t)
	f.url = "http://" + hl.Addr().String()
	f.grpc = gl.Addr().String()
	f.life.HTTP(&http.Server{Handler: mux}, hl)
	g := grpc.NewServer()
	healthpb.RegisterHealthServer(g, f.hs)
	f.life.GRPC(g, gl)
	f.life.OnStop(f.hs.Shutdown)
	go func() { f.runErr <- f.life.Run(context.Background(), f.sig) }()
	t.Cleanup(func() {
		select {
		case f.sig <- syscall.SIGKILL:
		default:
		}
	})
	return f
}

func get(t *testing.T, url string) (int, string, error) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func grpcStatus(t *testing.T, addr string) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cc.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	r, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatalf("health check: %v", err)
	}
	return r.GetStatus()
}

// After SIGTERM: readiness fails at once, gRPC health says NOT_SERVING, new requests are
// still served during the drain delay, the request in flight completes, and Run returns nil
// (exit 0) as soon as it has, well before the timeout.
func TestGracefulShutdown(t *testing.T) {
	f := start(t, Options{DrainDelay: 400 * time.Millisecond, Timeout: 10 * time.Second})
	if code, _, err := get(t, f.url+"/health"); err != nil || code != 200 {
		t.Fatalf("ready before SIGTERM: %d %v", code, err)
	}
	if s := grpcStatus(t, f.grpc); s != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("grpc health before SIGTERM: %v", s)
	}

	type result struct {
		code int
		body string
		err  error
	}
	slow := make(chan result, 1)
	go func() {
		c, b, err := get(t, f.url+"/slow?d=1200ms")
		slow <- result{c, b, err}
	}()
	time.Sleep(100 * time.Millisecond) // the slow request is in flight
	t0 := time.Now()
	f.sig <- syscall.SIGTERM
	<-f.life.Stopping()

	if code, _, err := get(t, f.url+"/health"); err != nil || code != 503 {
		t.Errorf("/health after SIGTERM: %d %v, want 503", code, err)
	}
	if s := grpcStatus(t, f.grpc); s != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("grpc health after SIGTERM: %v, want NOT_SERVING", s)
	}
	// A new request during the drain delay is served (a new connection: keep-alive is off).
	if code, body, err := get(t, f.url+"/fast"); err != nil || code != 200 || body != "ok" {
		t.Errorf("new request during drain: %d %q %v", code, body, err)
	}
	// After the drain delay the listener is closed.
	time.Sleep(500 * time.Millisecond)
	if _, _, err := get(t, f.url+"/fast"); err == nil {
		t.Error("listener still open after the drain delay")
	}
	r := <-slow
	if r.err != nil || r.code != 200 || r.body != "slow ok" {
		t.Fatalf("in-flight request: %d %q %v", r.code, r.body, r.err)
	}
	select {
	case err := <-f.runErr:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the in-flight request finished")
	}
	if el := time.Since(t0); el > 3*time.Second {
		t.Errorf("shutdown took %s: it should end when the last request does", el)
	}
	select {
	case <-f.life.Cutoff():
		t.Error("cutoff reached in a clean drain")
	default:
	}
}

// A stream still open near the timeout is told to end (Cutoff) and its last write reaches the
// client; Run still returns nil.
func TestCutoffEndsLongStreams(t *testing.T) {
	f := start(t, Options{DrainDelay: 0, Timeout: 1500 * time.Millisecond})
	done := make(chan string, 1)
	go func() {
		_, body, err := get(t, f.url+"/stream")
		if err != nil {
			body = "error: " + err.Error()
		}
		done <- body
	}()
	time.Sleep(100 * time.Millisecond)
	t0 := time.Now()
	f.sig <- syscall.SIGTERM
	select {
	case body := <-done:
		if body != "cutoff" {
			t.Errorf("stream body %q, want the cutoff notice", body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stream not ended")
	}
	if el := time.Since(t0); el < 400*time.Millisecond || el > 1400*time.Millisecond {
		t.Errorf("cutoff after %s, want about Timeout-%s = 0.5s", el, CutoffNotice)
	}
	if err := <-f.runErr; err != nil {
		t.Fatal(err)
	}
}

// A second signal closes everything at once.
func TestSecondSignalForces(t *testing.T) {
	f := start(t, Options{DrainDelay: 10 * time.Second, Timeout: 20 * time.Second})
	f.sig <- syscall.SIGTERM
	<-f.life.Stopping()
	t0 := time.Now()
	f.sig <- syscall.SIGINT
	select {
	case err := <-f.runErr:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("second signal ignored")
	}
	if time.Since(t0) > time.Second {
		t.Error("forced close was slow")
	}
}

func TestStartupDelay(t *testing.T) {
	l := New(Options{StartupDelay: 200 * time.Millisecond, Timeout: time.Second, Logger: log.New(io.Discard, "", 0)})
	if l.Ready() {
		t.Error("ready before the startup delay")
	}
	time.Sleep(250 * time.Millisecond)
	if !l.Ready() {
		t.Error("not ready after the startup delay")
	}
}
