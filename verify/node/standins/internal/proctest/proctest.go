// Package proctest runs a stand-in's main() as a child process (the test binary re-executed)
// on 127.0.0.1, to test signals and exit codes end to end.
package proctest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

const childEnv = "STANDIN_PROCTEST_CHILD"

// IsChild reports whether this test binary was started by Start; TestMain then runs main.
func IsChild() bool { return os.Getenv(childEnv) == "1" }

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port
}

// Proc is the running child.
type Proc struct {
	Cmd  *exec.Cmd
	mu   sync.Mutex
	logs bytes.Buffer
	done chan struct{}
	err  error
}

type lockedWriter struct{ p *Proc }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.logs.Write(b)
}

// Logs returns what the child wrote so far.
func (p *Proc) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// Start re-executes the test binary as the stand-in with env (LISTEN_HOST=127.0.0.1 added).
func Start(t *testing.T, env ...string) *Proc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{childEnv + "=1", "LISTEN_HOST=127.0.0.1"}, env...)...)
	p := &Proc{Cmd: cmd, done: make(chan struct{})}
	cmd.Stdout = lockedWriter{p}
	cmd.Stderr = lockedWriter{p}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("child output:\n%s", p.Logs())
		}
	})
	return p
}

// Wait waits for the child to exit and returns its exit code (-1 on timeout).
func (p *Proc) Wait(timeout time.Duration) int {
	select {
	case <-p.done:
		return p.Cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		return -1
	}
}

// WaitHTTP polls url until it answers want, up to timeout.
func WaitHTTP(url string, want int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		code, _, err := Get(url)
		if err == nil && code == want {
			return nil
		}
		last = fmt.Sprint(code, err)
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s: no %d within %s (last: %s)", url, want, timeout, last)
}

// Get is a GET on a fresh connection.
func Get(url string) (int, string, error) {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// Port formats a port for an env var.
func Port(p int) string { return strconv.Itoa(p) }
