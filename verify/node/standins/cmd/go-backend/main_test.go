package main

import (
	"fmt"
	"os"
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

// The real binary on SIGTERM: readiness drops at once, every request sent during the drain
// delay is served, and the process exits 0.
func TestSIGTERM(t *testing.T) {
	hp := proctest.FreePort(t)
	p := proctest.Start(t, "PORT="+proctest.Port(hp), "POD_NAME=go-backend-proc",
		"STANDIN_DRAIN_DELAY=800ms", "STANDIN_SHUTDOWN_TIMEOUT=5s")
	base := fmt.Sprintf("http://127.0.0.1:%d", hp)
	if err := proctest.WaitHTTP(base+"/health", 200, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if err := proctest.WaitHTTP(base+"/health", 503, 2*time.Second); err != nil {
		t.Error(err)
	}
	n := 0
	for time.Since(t0) < 600*time.Millisecond {
		if code, _, err := proctest.Get(base + "/"); err != nil || code != 200 {
			t.Fatalf("request %d during the drain: %d %v", n, code, err)
		}
		n++
		time.Sleep(20 * time.Millisecond)
	}
	if code := p.Wait(10 * time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if el := time.Since(t0); el > 3*time.Second {
		t.Errorf("exit %s after SIGTERM: it should follow the drain delay when idle", el)
	}
	t.Logf("%d requests served during the drain", n)
}
