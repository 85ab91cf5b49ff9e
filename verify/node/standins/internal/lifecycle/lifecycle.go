// Package lifecycle runs the stand-ins' servers and shuts them down the way the platform
// expects (README, "Application contract"): the kubelet runs the preStop `sleep 10` first, then
// sends SIGTERM. From SIGTERM on:
//
//  1. readiness fails at once (/health answers 503, gRPC health NOT_SERVING), but nothing
//     else changes: for DrainDelay every listener stays open and new requests are served as
//     before, only without HTTP keep-alive so that clients move to other endpoints;
//  2. then the listeners close and the servers wait for the requests and streams in flight
//     (http.Server.Shutdown, grpc.Server.GracefulStop, which sends GOAWAY);
//  3. one second before Timeout (counted from SIGTERM) Cutoff() closes, so that SSE streams
//     can send a last event telling the client to reconnect with Last-Event-ID; at Timeout
//     whatever is left is closed.
//
// Run then returns nil and the process exits 0. A second signal skips to the forced close.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
)

// CutoffNotice is how long before Timeout the streams are told to end.
const CutoffNotice = time.Second

// Options tune the shutdown; the zero value is not useful, see Defaults.
type Options struct {
	// DrainDelay: how long after SIGTERM the listeners stay open.
	DrainDelay time.Duration
	// Timeout: from SIGTERM to the forced close of what is still open.
	Timeout time.Duration
	// StartupDelay: /health fails for this long after start (to exercise startup probes).
	StartupDelay time.Duration
	Logger       *log.Logger
}

// Lifecycle owns the readiness state and the servers.
type Lifecycle struct {
	opts     Options
	start    time.Time
	stopping atomic.Bool
	stopCh   chan struct{}
	cutCh    chan struct{}
	mu       sync.Mutex
	https    []served[*http.Server]
	grpcs    []served[*grpc.Server]
	onStop   []func()
}

type served[T any] struct {
	srv T
	ln  net.Listener
}

// New returns a Lifecycle whose clock starts now.
func New(o Options) *Lifecycle {
	if o.Logger == nil {
		o.Logger = log.New(os.Stderr, "", log.LstdFlags|log.Lmicroseconds|log.LUTC)
	}
	if o.Timeout < o.DrainDelay {
		o.Timeout = o.DrainDelay
	}
	return &Lifecycle{opts: o, start: time.Now(), stopCh: make(chan struct{}), cutCh: make(chan struct{})}
}

// Start is when the Lifecycle was made.
func (l *Lifecycle) Start() time.Time { return l.start }

// Ready reports whether /health should answer 200.
func (l *Lifecycle) Ready() bool {
	return !l.stopping.Load() && time.Since(l.start) >= l.opts.StartupDelay
}

// Stopping is closed at SIGTERM.
func (l *Lifecycle) Stopping() <-chan struct{} { return l.stopCh }

// Cutoff is closed CutoffNotice before the forced close: long streams end here.
func (l *Lifecycle) Cutoff() <-chan struct{} { return l.cutCh }

// HTTP adds an HTTP server to run on ln.
func (l *Lifecycle) HTTP(srv *http.Server, ln net.Listener) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.https = append(l.https, served[*http.Server]{srv, ln})
}

// GRPC adds a gRPC server to run on ln.
func (l *Lifecycle) GRPC(srv *grpc.Server, ln net.Listener) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.grpcs = append(l.grpcs, served[*grpc.Server]{srv, ln})
}

// OnStop adds a function to call at SIGTERM (e.g. the gRPC health server's Shutdown).
func (l *Lifecycle) OnStop(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.onStop = append(l.onStop, f)
}

func (l *Lifecycle) logf(format string, args ...any) { l.opts.Logger.Printf(format, args...) }

// Run serves until a signal arrives on sig (or ctx ends), then shuts down as described in the
// package comment. It returns nil after a clean shutdown, or the error of a server that
// failed on its own.
func (l *Lifecycle) Run(ctx context.Context, sig <-chan os.Signal) error {
	l.mu.Lock()
	https, grpcs, onStop := l.https, l.grpcs, l.onStop
	l.mu.Unlock()

	errCh := make(chan error, len(https)+len(grpcs))
	for _, s := range https {
		l.logf("http listening on %s", s.ln.Addr())
		go func() {
			if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errCh <- fmt.Errorf("http %s: %w", s.ln.Addr(), err)
			}
		}()
	}
	for _, s := range grpcs {
		l.logf("grpc listening on %s", s.ln.Addr())
		go func() {
			if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				errCh <- fmt.Errorf("grpc %s: %w", s.ln.Addr(), err)
			}
		}()
	}

	var why string
	select {
	case s := <-sig:
		why = s.String()
	case <-ctx.Done():
		why = "context done"
	case err := <-errCh:
		l.stopping.Store(true)
		for _, s := range https {
			_ = s.srv.Close()
		}
		for _, s := range grpcs {
			s.srv.Stop()
		}
		return err
	}

	t0 := time.Now()
	deadline := t0.Add(l.opts.Timeout)
	l.stopping.Store(true)
	close(l.stopCh)
	for _, f := range onStop {
		f()
	}
	for _, s := range https {
		s.srv.SetKeepAlivesEnabled(false)
	}
	l.logf("%s: not ready; serving on for %s, then draining until %s at most", why, l.opts.DrainDelay, l.opts.Timeout)

	force := false
	select {
	case <-time.After(l.opts.DrainDelay):
	case s := <-sig:
		l.logf("%s again: closing now", s)
		force = true
	}

	finalCtx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	done := make(chan struct{})
	if !force {
		l.logf("closing listeners; waiting for requests in flight")
		var wg sync.WaitGroup
		for _, s := range https {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = s.srv.Shutdown(finalCtx)
			}()
		}
		for _, s := range grpcs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.srv.GracefulStop()
			}()
		}
		go func() {
			wg.Wait()
			close(done)
		}()

		cut := time.NewTimer(time.Until(deadline.Add(-CutoffNotice)))
		defer cut.Stop()
		select {
		case <-done:
		case <-cut.C:
			l.logf("still busy %s after the signal: telling streams to end", time.Since(t0).Round(time.Millisecond))
			close(l.cutCh)
			select {
			case <-done:
			case <-finalCtx.Done():
				force = true
			case s := <-sig:
				l.logf("%s again: closing now", s)
				force = true
			}
		case s := <-sig:
			l.logf("%s again: closing now", s)
			force = true
		}
	}
	if force {
		select {
		case <-l.cutCh:
		default:
			close(l.cutCh)
		}
		for _, s := range https {
			_ = s.srv.Close()
		}
		for _, s := range grpcs {
			s.srv.Stop()
		}
		l.logf("forced close %s after the signal", time.Since(t0).Round(time.Millisecond))
		return nil
	}
	l.logf("drained %s after the signal; exiting", time.Since(t0).Round(time.Millisecond))
	return nil
}
