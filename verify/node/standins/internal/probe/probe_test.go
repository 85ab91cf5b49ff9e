package probe

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"qingyu.local/verify/standins/internal/sse"
	"qingyu.local/verify/standins/internal/whoami"
)

func run(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var b strings.Builder
	code := Main(args, &b)
	return code, b.String()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func expect(t *testing.T, wantCode int, wantPrefix string, args ...string) string {
	t.Helper()
	code, out := run(t, args...)
	if code != wantCode || !strings.HasPrefix(lastLine(out), wantPrefix) {
		t.Errorf("probe %s: exit %d, want %d; output:\n%s", strings.Join(args, " "), code, wantCode, out)
	}
	return out
}

func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func TestUsage(t *testing.T) {
	expect(t, Usage, "exit codes", []string{}...)
	expect(t, Usage, "exit codes", "nope")
	expect(t, Usage, "usage tcp", "tcp")
	expect(t, Usage, "usage http", "http", "--bogus", "http://127.0.0.1:1/")
	expect(t, OK, "exit codes", "help")
}

func TestTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	expect(t, OK, "ok tcp "+ln.Addr().String(), "tcp", ln.Addr().String(), "--timeout", "2s")
	expect(t, Unreachable, "unreachable tcp", "tcp", closedAddr(t))
}

func TestDNS(t *testing.T) {
	expect(t, OK, "ok dns localhost", "dns", "localhost")
	expect(t, Fail, "fail dns localhost", "dns", "localhost", "--min", "99")
}

func TestHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(podHeader, "pod-x")
		if r.URL.Path == "/bad" {
			w.WriteHeader(503)
		}
		fmt.Fprintf(w, "hello host=%s", r.Host)
	}))
	defer srv.Close()
	out := expect(t, OK, "ok http", "http", srv.URL+"/", "--contains", "hello", "--header", "Host: example.test")
	if !strings.Contains(out, "pod=pod-x") || !strings.Contains(out, "host=example.test") {
		t.Errorf("output %q", out)
	}
	expect(t, Fail, "fail http", "http", srv.URL+"/bad")
	expect(t, OK, "ok http", "http", srv.URL+"/bad", "--expect", "503")
	expect(t, Fail, "fail http", "http", srv.URL+"/", "--contains", "absent")
	expect(t, Unreachable, "unreachable http", "http", "http://"+closedAddr(t)+"/")
}

func TestLoad(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		w.Header().Set(podHeader, fmt.Sprintf("pod-%d", i%2))
		if r.URL.Path == "/flaky" && i%5 == 0 {
			w.WriteHeader(500)
		}
	}))
	defer srv.Close()
	out := expect(t, OK, "ok load", "load", srv.URL+"/", "--duration", "1s", "--rps", "20")
	for _, want := range []string{"sent=20 ok=20 failed=0", "pods=2"} {
		if !strings.Contains(out, want) {
			t.Errorf("load output lacks %q: %s", want, out)
		}
	}
	out = expect(t, Fail, "fail load", "load", srv.URL+"/flaky", "--duration", "1s", "--rps", "20")
	if !strings.Contains(out, "error t=+") || !strings.Contains(out, "statuses=200:16,500:4") {
		t.Errorf("flaky output: %s", out)
	}
	expect(t, Unreachable, "unreachable load", "load", "http://"+closedAddr(t)+"/", "--duration", "200ms", "--rps", "10")
	expect(t, Usage, "usage load", "load", srv.URL, "--rps", "5000")
}

// The first connection ends after event 2 with event: shutdown (as python-ai does at its
// cutoff); the probe reconnects with Last-Event-ID: 2 and reads 3..4 and done.
func TestSSEResume(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw, err := sse.NewWriter(w)
		if err != nil {
			return
		}
		if conns.Add(1) == 1 {
			_ = sw.Send(sse.Event{Retry: 50 * time.Millisecond, Event: "open", Data: "{}"})
			for i := 1; i <= 2; i++ {
				_ = sw.Send(sse.Event{ID: fmt.Sprint(i), Data: `{"pod":"a"}`})
				time.Sleep(50 * time.Millisecond)
			}
			_ = sw.Send(sse.Event{Event: "shutdown", Data: "{}"})
			return
		}
		if r.Header.Get("Last-Event-ID") != "2" {
			_ = sw.Send(sse.Event{ID: "99", Data: "wrong Last-Event-ID " + r.Header.Get("Last-Event-ID")})
			return
		}
		for i := 3; i <= 4; i++ {
			_ = sw.Send(sse.Event{ID: fmt.Sprint(i), Data: `{"pod":"b"}`})
			time.Sleep(50 * time.Millisecond)
		}
		_ = sw.Send(sse.Event{Event: "done", Data: "{}"})
	}))
	defer srv.Close()
	// Without --resume the cut stream is a failure.
	expect(t, Fail, "fail sse", "sse", srv.URL, "--quiet")
	conns.Store(0)
	out := expect(t, OK, "ok sse", "sse", srv.URL, "--resume", "2", "--min-events", "4", "--min-spread", "100ms")
	for _, want := range []string{"reconnect n=1 last_id=2", "events=4 last_id=4 end=done reconnects=1", "id_gaps=0", "pods=a:2,b:2"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "event type=message") != 4 {
		t.Errorf("want 4 event lines:\n%s", out)
	}
}

func TestSSEBufferedAndWrongType(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/json" {
			_, _ = w.Write([]byte("{}"))
			return
		}
		// All events in one write: what a buffering proxy delivers.
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte("id: 1\ndata: a\n\nid: 2\ndata: b\n\nevent: done\ndata: x\n\n"))
	}))
	defer srv.Close()
	out := expect(t, Fail, "fail sse", "sse", srv.URL+"/", "--min-spread", "500ms", "--quiet")
	if !strings.Contains(out, "buffered") {
		t.Errorf("%s", out)
	}
	expect(t, Fail, "fail sse", "sse", srv.URL+"/json")
	expect(t, Unreachable, "unreachable sse", "sse", "http://"+closedAddr(t)+"/")
}

func startGRPC(t *testing.T, pod string) (string, *health.Server) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	hs := health.NewServer()
	healthpb.RegisterHealthServer(g, hs)
	whoami.Register(g, whoami.PodServer{Pod: pod})
	go func() { _ = g.Serve(ln) }()
	t.Cleanup(g.Stop)
	return ln.Addr().String(), hs
}

func TestGRPC(t *testing.T) {
	addr, hs := startGRPC(t, "ai-0")
	expect(t, OK, "ok grpc-health", "grpc-health", addr)
	hs.Shutdown()
	expect(t, Fail, "fail grpc-health", "grpc-health", addr)
	expect(t, Fail, "fail grpc-health", "grpc-health", addr, "--service", "unknown.Service")
	expect(t, Unreachable, "unreachable grpc-health", "grpc-health", closedAddr(t), "--timeout", "1s")

	out := expect(t, OK, "ok grpc-whoami", "grpc-whoami", "passthrough:///"+addr, "--calls", "5")
	if !strings.Contains(out, "by_pod=ai-0:5") {
		t.Errorf("%s", out)
	}
	expect(t, Fail, "fail grpc-whoami", "grpc-whoami", "passthrough:///"+addr, "--calls", "3", "--min-distinct", "2")
	expect(t, Unreachable, "unreachable grpc-whoami", "grpc-whoami", "passthrough:///"+closedAddr(t), "--calls", "2", "--timeout", "500ms")
}

// fakeRedis answers AUTH and PING like Redis 6+ with requirepass / an ACL user.
func fakeRedis(t *testing.T, user, pass string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = c.Close() }()
				rd := bufio.NewReader(c)
				authed := false
				for {
					args, err := readCommand(rd)
					if err != nil {
						return
					}
					switch strings.ToUpper(args[0]) {
					case "AUTH":
						u, p := "default", args[len(args)-1]
						if len(args) == 3 {
							u = args[1]
						}
						if (u == user || (u == "default" && user == "")) && p == pass {
							authed = true
							_, _ = c.Write([]byte("+OK\r\n"))
						} else {
							_, _ = c.Write([]byte("-WRONGPASS invalid username-password pair or user is disabled.\r\n"))
						}
					case "PING":
						if !authed {
							_, _ = c.Write([]byte("-NOAUTH Authentication required.\r\n"))
						} else {
							_, _ = c.Write([]byte("+PONG\r\n"))
						}
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func readCommand(rd *bufio.Reader) ([]string, error) {
	var n int
	if _, err := fmt.Fscanf(rd, "*%d\r\n", &n); err != nil {
		return nil, err
	}
	args := make([]string, n)
	for i := range n {
		var l int
		if _, err := fmt.Fscanf(rd, "$%d\r\n", &l); err != nil {
			return nil, err
		}
		b := make([]byte, l+2)
		if _, err := io.ReadFull(rd, b); err != nil {
			return nil, err
		}
		args[i] = string(b[:l])
	}
	return args, nil
}

func TestRedis(t *testing.T) {
	addr := fakeRedis(t, "app", "pw with spaces")
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	bad := filepath.Join(dir, "bad")
	_ = os.WriteFile(good, []byte("pw with spaces\n"), 0o600)
	_ = os.WriteFile(bad, []byte("nope"), 0o600)
	expect(t, OK, "ok redis "+addr+" auth=ok(user=app) reply=PONG", "redis", addr, "--user", "app", "--pass-file", good)
	out := expect(t, Fail, "fail redis", "redis", addr, "--user", "app", "--pass-file", bad)
	if !strings.Contains(out, "WRONGPASS") {
		t.Errorf("%s", out)
	}
	expect(t, Fail, "fail redis", "redis", addr)
	expect(t, OK, "ok redis "+addr+" auth=required", "redis", addr, "--expect-noauth")
	expect(t, Unreachable, "unreachable redis", "redis", closedAddr(t))
	expect(t, Usage, "usage redis", "redis", addr, "--pass-file", filepath.Join(dir, "missing"))
}
