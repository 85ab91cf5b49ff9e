package whoami

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
)

// backend is one in-process python-ai stand-in on 127.0.0.1.
type backend struct {
	name string
	addr string
	srv  *grpc.Server
}

func startBackends(t *testing.T, names ...string) []*backend {
	t.Helper()
	var out []*backend
	for _, n := range names {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s := grpc.NewServer()
		Register(s, PodServer{Pod: n})
		go func() { _ = s.Serve(ln) }()
		t.Cleanup(s.Stop)
		out = append(out, &backend{name: n, addr: ln.Addr().String(), srv: s})
	}
	return out
}

// ResolverFor returns a manual resolver that hands out every backend's address, standing in
// for dns:/// on a headless Service (one A record per ready pod).
func resolverFor(bs []*backend) *manual.Resolver {
	r := manual.NewBuilderWithScheme("standin")
	var addrs []resolver.Address
	for _, b := range bs {
		addrs = append(addrs, resolver.Address{Addr: b.addr})
	}
	r.InitialState(resolver.State{Addresses: addrs})
	return r
}

func perCall(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, 3*time.Second)
}

// warm calls until every backend has answered once (round_robin adds subchannels to its
// picker as they connect), bounded in time.
func warm(t *testing.T, cc *grpc.ClientConn, want int) {
	t.Helper()
	seen := map[string]bool{}
	deadline := time.Now().Add(5 * time.Second)
	for len(seen) < want && time.Now().Before(deadline) {
		r, err := Call(context.Background(), cc, "test")
		if err == nil {
			seen[r.Pod] = true
		}
	}
	if len(seen) < want {
		t.Fatalf("only %d of %d backends answered while warming up", len(seen), want)
	}
}

// The contract's client (round_robin) spreads calls evenly over every resolved address.
func TestRoundRobinSpread(t *testing.T) {
	bs := startBackends(t, "python-ai-a", "python-ai-b", "python-ai-c")
	cc, err := NewClient("standin:///python-ai-grpc.test:50051", grpc.WithResolvers(resolverFor(bs)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cc.Close() }()
	warm(t, cc, 3)
	res := Spread(context.Background(), cc, "test", 30, perCall)
	if res.Errors != 0 || res.Distinct != 3 {
		t.Fatalf("spread %s (%s)", res, res.FirstErr)
	}
	for _, b := range bs {
		if res.Pods[b.name] != 10 {
			t.Errorf("%s answered %d of 30 calls, want 10: %s", b.name, res.Pods[b.name], res)
		}
		if res.Addrs[b.name] != b.addr {
			t.Errorf("%s answered from %s, want %s", b.name, res.Addrs[b.name], b.addr)
		}
	}
}

// Without the service config (pick_first, grpc-go's default) every call lands on one pod:
// the failure the contract's round_robin prevents.
func TestPickFirstPins(t *testing.T) {
	bs := startBackends(t, "a", "b", "c")
	cc, err := grpc.NewClient("standin:///x", grpc.WithResolvers(resolverFor(bs)),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cc.Close() }()
	res := Spread(context.Background(), cc, "test", 30, perCall)
	if res.Errors != 0 || res.Distinct != 1 {
		t.Fatalf("pick_first spread %s, want one pod", res)
	}
}

// A pod that stops gracefully (GOAWAY, as python-ai does after SIGTERM) fails no call: the
// client moves its calls to the others.
func TestPodStopFailsNoCall(t *testing.T) {
	bs := startBackends(t, "a", "b", "c")
	cc, err := NewClient("standin:///x", grpc.WithResolvers(resolverFor(bs)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cc.Close() }()
	warm(t, cc, 3)
	stopped := make(chan struct{})
	go func() {
		time.Sleep(20 * time.Millisecond)
		bs[1].srv.GracefulStop()
		close(stopped)
	}()
	total := SpreadResult{Pods: map[string]int{}}
	for i := 0; i < 40; i++ {
		res := Spread(context.Background(), cc, "test", 10, perCall)
		total.Calls += res.Calls
		total.Errors += res.Errors
		for p, n := range res.Pods {
			total.Pods[p] += n
		}
		if res.Errors > 0 {
			t.Fatalf("calls failed while a pod stopped: %s: %s", res, res.FirstErr)
		}
		time.Sleep(5 * time.Millisecond)
	}
	<-stopped
	after := Spread(context.Background(), cc, "test", 20, perCall)
	if after.Errors != 0 || after.Pods["b"] != 0 || after.Pods["a"] != 10 || after.Pods["c"] != 10 {
		t.Fatalf("after b stopped: %s", after)
	}
	t.Logf("during: %s", fmt.Sprint(total.Pods))
}
