package pythonai

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"qingyu.local/verify/standins/internal/lifecycle"
	"qingyu.local/verify/standins/internal/sse"
	"qingyu.local/verify/standins/internal/whoami"
)

func newServer(t *testing.T, o lifecycle.Options) (*Server, *lifecycle.Lifecycle) {
	t.Helper()
	o.Logger = log.New(io.Discard, "", 0)
	life := lifecycle.New(o)
	return New(Options{Pod: "python-ai-test-0", Life: life}), life
}

type arrival struct {
	ev sse.Received
	at time.Duration
}

func readStream(t *testing.T, url, lastID string) ([]arrival, *http.Response) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	rd := sse.NewReader(resp.Body, lastID)
	var out []arrival
	for {
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out, resp
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, arrival{ev, time.Since(start)})
	}
}

func messages(as []arrival) []arrival {
	var out []arrival
	for _, a := range as {
		if a.ev.Type == "message" {
			out = append(out, a)
		}
	}
	return out
}

// Events arrive one by one, interval apart (not all at the end), each with the pod and its
// sequence number; the stream opens with a retry hint and ends with event: done.
func TestStreamPacing(t *testing.T) {
	s, _ := newServer(t, lifecycle.Options{Timeout: time.Second})
	srv := httptest.NewServer(s.HTTPHandler())
	defer srv.Close()
	got, resp := readStream(t, srv.URL+"/api/v1/ai/stream?n=4&interval_ms=150", "")
	if resp.Header.Get("X-Pod-Name") != "python-ai-test-0" {
		t.Errorf("X-Pod-Name %q", resp.Header.Get("X-Pod-Name"))
	}
	if len(got) != 6 || got[0].ev.Type != "open" || got[0].ev.Retry != RetryHint || got[5].ev.Type != "done" {
		t.Fatalf("events %+v", got)
	}
	ms := messages(got)
	for i, a := range ms {
		var d StreamEvent
		if err := json.Unmarshal([]byte(a.ev.Data), &d); err != nil {
			t.Fatal(err)
		}
		if a.ev.ID != strconv.Itoa(i+1) || d.Seq != i+1 || d.Pod != "python-ai-test-0" || d.N != 4 {
			t.Errorf("event %d: id %q data %+v", i, a.ev.ID, d)
		}
		if i > 0 {
			if gap := a.at - ms[i-1].at; gap < 100*time.Millisecond {
				t.Errorf("event %d arrived %s after the previous one: buffered", i+1, gap)
			}
		}
	}
}

// A client that reconnects with Last-Event-ID gets the events after it, and only those.
func TestStreamResume(t *testing.T) {
	s, _ := newServer(t, lifecycle.Options{Timeout: time.Second})
	srv := httptest.NewServer(s.HTTPHandler())
	defer srv.Close()
	got, _ := readStream(t, srv.URL+"/api/v1/ai/stream?n=5&interval_ms=10", "3")
	ms := messages(got)
	if len(ms) != 2 || ms[0].ev.ID != "4" || ms[1].ev.ID != "5" {
		t.Fatalf("resumed events %+v", ms)
	}
	var d StreamEvent
	_ = json.Unmarshal([]byte(ms[0].ev.Data), &d)
	if d.ResumedAfter != 3 {
		t.Errorf("resumed_after %d", d.ResumedAfter)
	}
	got, _ = readStream(t, srv.URL+"/api/v1/ai/stream?n=5&interval_ms=10", "5")
	if len(messages(got)) != 0 || got[len(got)-1].ev.Type != "done" {
		t.Errorf("resume after the last id: %+v", got)
	}
	for _, q := range []string{"n=0", "n=x", "interval_ms=-1", "n=100001"} {
		resp, err := http.Get(srv.URL + "/api/v1/ai/stream?" + q)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("%s: status %d, want 400", q, resp.StatusCode)
		}
	}
}

// The metrics carry the families the platform's alerts read, with the route as handler.
func TestMetrics(t *testing.T) {
	s, _ := newServer(t, lifecycle.Options{Timeout: time.Second})
	srv := httptest.NewServer(s.HTTPHandler())
	defer srv.Close()
	for _, p := range []string{"/health", "/api/v1/ai/stream?n=1&interval_ms=0", "/nope"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	text := string(b)
	for _, want := range []string{
		`http_requests_total{method="GET",handler="/health",status="200"} 1`,
		`http_requests_total{method="GET",handler="/api/v1/ai/stream",status="200"} 1`,
		`http_requests_total{method="GET",handler="other",status="404"} 1`,
		`http_request_duration_seconds_bucket{method="GET",handler="/health",le="+Inf"} 1`,
		`http_request_duration_seconds_count{method="GET",handler="/health"} 1`,
		`sse_events_sent_total 1`,
		`sse_streams_total{outcome="done"} 1`,
		`standin_ready 1`,
		`standin_info{app="python-ai",pod="python-ai-test-0"} 1`,
		"# TYPE process_start_time_seconds gauge",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Errorf("content type %q", resp.Header.Get("Content-Type"))
	}
}

// At the shutdown cutoff an open stream ends with event: shutdown naming the last id sent,
// so the client can resume elsewhere; the process still exits cleanly.
func TestStreamCutoff(t *testing.T) {
	s, life := newServer(t, lifecycle.Options{DrainDelay: 0, Timeout: 1200 * time.Millisecond})
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	life.HTTP(&http.Server{Handler: s.HTTPHandler()}, hl)
	sig := make(chan os.Signal, 1)
	runErr := make(chan error, 1)
	go func() { runErr <- life.Run(context.Background(), sig) }()
	go func() {
		time.Sleep(250 * time.Millisecond)
		sig <- syscall.SIGTERM
	}()
	got, _ := readStream(t, "http://"+hl.Addr().String()+"/api/v1/ai/stream?n=100&interval_ms=100", "")
	last := got[len(got)-1]
	if last.ev.Type != "shutdown" {
		t.Fatalf("last event %+v", last.ev)
	}
	var d struct {
		LastID int `json:"last_id"`
	}
	_ = json.Unmarshal([]byte(last.ev.Data), &d)
	ms := messages(got)
	if n, _ := strconv.Atoi(ms[len(ms)-1].ev.ID); d.LastID != n || n < 3 {
		t.Errorf("shutdown last_id %d, last event id %d", d.LastID, n)
	}
	if err := <-runErr; err != nil {
		t.Fatal(err)
	}
}

// gRPC: health SERVING, Whoami answers the pod name; after SIGTERM health is NOT_SERVING
// while Whoami still answers.
func TestGRPC(t *testing.T) {
	s, life := newServer(t, lifecycle.Options{DrainDelay: 5 * time.Second, Timeout: 6 * time.Second})
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	life.GRPC(s.GRPCServer(), gl)
	sig := make(chan os.Signal, 2)
	go func() { _ = life.Run(context.Background(), sig) }()
	defer func() { sig <- syscall.SIGTERM; sig <- syscall.SIGTERM }()

	cc, err := grpc.NewClient("passthrough:///"+gl.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cc.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hc := healthpb.NewHealthClient(cc)
	check := func(svc string) healthpb.HealthCheckResponse_ServingStatus {
		r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetStatus()
	}
	if check("") != healthpb.HealthCheckResponse_SERVING || check(whoami.ServiceName) != healthpb.HealthCheckResponse_SERVING {
		t.Fatal("not SERVING at start")
	}
	r, err := whoami.Call(ctx, cc, "test")
	if err != nil || r.Pod != "python-ai-test-0" {
		t.Fatalf("Name: %+v %v", r, err)
	}
	sig <- syscall.SIGTERM
	<-life.Stopping()
	if check("") != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Error("still SERVING after SIGTERM")
	}
	if r, err := whoami.Call(ctx, cc, "test"); err != nil || r.Pod != "python-ai-test-0" {
		t.Errorf("Name during the drain: %+v %v", r, err)
	}
}
