package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"qingyu.local/verify/standins/internal/proctest"
)

func TestMain(m *testing.M) {
	if proctest.IsChild() {
		os.Args = os.Args[:1] // drop -test.run
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The real binary on SIGTERM: /health turns 503 while / and the open SSE stream keep being
// served; the stream finishes; the process exits 0.
func TestSIGTERM(t *testing.T) {
	hp, gp := proctest.FreePort(t), proctest.FreePort(t)
	p := proctest.Start(t, "PORT="+proctest.Port(hp), "GRPC_PORT="+proctest.Port(gp), "POD_NAME=python-ai-proc",
		"STANDIN_DRAIN_DELAY=500ms", "STANDIN_SHUTDOWN_TIMEOUT=10s")
	base := fmt.Sprintf("http://127.0.0.1:%d", hp)
	if err := proctest.WaitHTTP(base+"/health", 200, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	type res struct {
		code int
		body string
		err  error
	}
	stream := make(chan res, 1)
	go func() {
		c, b, err := proctest.Get(base + "/api/v1/ai/stream?n=4&interval_ms=400")
		stream <- res{c, b, err}
	}()
	time.Sleep(200 * time.Millisecond)
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := proctest.WaitHTTP(base+"/health", 503, 2*time.Second); err != nil {
		t.Error(err)
	}
	if code, body, err := proctest.Get(base + "/"); err != nil || code != 200 || !strings.Contains(body, "python-ai-proc") {
		t.Errorf("/ during the drain: %d %q %v", code, body, err)
	}
	r := <-stream
	if r.err != nil || r.code != 200 || !strings.Contains(r.body, "id: 4") || !strings.Contains(r.body, "event: done") {
		t.Errorf("stream across SIGTERM: %d %v\n%s", r.code, r.err, r.body)
	}
	if code := p.Wait(10 * time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}
