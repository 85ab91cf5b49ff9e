package gobackend

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"

	"qingyu.local/verify/standins/internal/lifecycle"
	"qingyu.local/verify/standins/internal/pythonai"
)

func quiet() lifecycle.Options {
	return lifecycle.Options{Timeout: time.Second, Logger: log.New(io.Discard, "", 0)}
}

// threeAIs starts three python-ai gRPC servers on 127.0.0.1 and returns a resolver for them:
// what dns:/// on the headless Service python-ai-grpc returns in a cluster.
func threeAIs(t *testing.T) *manual.Resolver {
	t.Helper()
	var addrs []resolver.Address
	for i := range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ai := pythonai.New(pythonai.Options{Pod: fmt.Sprintf("python-ai-%d", i), Life: lifecycle.New(quiet())})
		g := ai.GRPCServer()
		go func() { _ = g.Serve(ln) }()
		t.Cleanup(g.Stop)
		addrs = append(addrs, resolver.Address{Addr: ln.Addr().String()})
	}
	r := manual.NewBuilderWithScheme("standin")
	r.InitialState(resolver.State{Addresses: addrs})
	return r
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v: %s", url, err, b)
		}
	}
	return resp.StatusCode
}

func TestSpreadAndWhoami(t *testing.T) {
	r := threeAIs(t)
	s := New(Options{Pod: "go-backend-0", Life: lifecycle.New(quiet()),
		AITarget: "standin:///python-ai-grpc.test.svc.cluster.local:50051", DialOptions: []grpc.DialOption{grpc.WithResolvers(r)}})
	defer s.Close()
	srv := httptest.NewServer(s.HTTPHandler())
	defer srv.Close()

	var who map[string]string
	if code := getJSON(t, srv.URL+"/api/v1/whoami", &who); code != 200 || !strings.HasPrefix(who["ai_pod"], "python-ai-") || who["backend_pod"] != "go-backend-0" {
		t.Fatalf("whoami %d %v", code, who)
	}
	// Warm up until round_robin has all three subchannels READY, then 30 calls split 10/10/10.
	deadline := time.Now().Add(5 * time.Second)
	var sp SpreadReply
	for time.Now().Before(deadline) {
		getJSON(t, srv.URL+"/api/v1/spread?calls=6", &sp)
		if sp.Distinct == 3 {
			break
		}
	}
	if code := getJSON(t, srv.URL+"/api/v1/spread?calls=30", &sp); code != 200 {
		t.Fatalf("spread status %d: %+v", code, sp)
	}
	if sp.Calls != 30 || sp.Errors != 0 || sp.Distinct != 3 {
		t.Fatalf("spread %+v", sp)
	}
	for i := range 3 {
		if n := sp.Pods[fmt.Sprintf("python-ai-%d", i)]; n != 10 {
			t.Errorf("python-ai-%d answered %d of 30", i, n)
		}
	}
	for _, q := range []string{"calls=0", "calls=1001", "calls=x"} {
		if code := getJSON(t, srv.URL+"/api/v1/spread?"+q, nil); code != 400 {
			t.Errorf("%s: %d", q, code)
		}
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if !strings.Contains(string(b), `standin_ai_calls_total{ai_pod="python-ai-0",grpc_code="OK"}`) {
		t.Errorf("metrics lack the per-pod AI calls:\n%s", b)
	}
}

func TestRootAndNoTarget(t *testing.T) {
	s := New(Options{Pod: "go-backend-1", Life: lifecycle.New(quiet())})
	srv := httptest.NewServer(s.HTTPHandler())
	defer srv.Close()
	var root map[string]string
	if code := getJSON(t, srv.URL+"/", &root); code != 200 || root["pod"] != "go-backend-1" || root["app"] != App {
		t.Errorf("/ %d %v", code, root)
	}
	if code := getJSON(t, srv.URL+"/api/v1/whoami", nil); code != 503 {
		t.Errorf("whoami without AI_SERVICE_URL: %d", code)
	}
	if code := getJSON(t, srv.URL+"/nope", nil); code != 404 {
		t.Errorf("/nope: %d", code)
	}
	if code := getJSON(t, srv.URL+"/health", nil); code != 200 {
		t.Errorf("/health: %d", code)
	}
}
