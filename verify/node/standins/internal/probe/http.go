package probe

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

const podHeader = "X-Pod-Name"

type headerList []string

func (h *headerList) String() string { return strings.Join(*h, ", ") }
func (h *headerList) Set(v string) error {
	if !strings.Contains(v, ":") {
		return errors.New("header must be 'Name: value'")
	}
	*h = append(*h, v)
	return nil
}

func (h headerList) apply(req *http.Request) {
	for _, kv := range h {
		k, v, _ := strings.Cut(kv, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Add(k, v)
	}
}

func runHTTP(args []string, out io.Writer) int {
	fs := flag.NewFlagSet("http", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 5*time.Second, "whole-request timeout")
	expect := fs.Int("expect", 200, "expected status code")
	contains := fs.String("contains", "", "the body must contain this text")
	var headers headerList
	fs.Var(&headers, "header", "request header 'Name: value' (repeatable; Host: sets the host)")
	pos, ok := setup(fs, args, 1, out)
	if !ok {
		return Usage
	}
	url := pos[0]
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintf(out, "usage http: %v\n", err)
		return Usage
	}
	headers.apply(req)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return line(out, Unreachable, "http", url, kv("error", errText(err)))
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	took := time.Since(start)
	fields := []string{kv("status", resp.StatusCode), kv("time", ms(took))}
	if p := resp.Header.Get(podHeader); p != "" {
		fields = append(fields, kv("pod", p))
	}
	code := OK
	switch {
	case rerr != nil:
		code = Fail
		fields = append(fields, kv("error", errText(rerr)))
	case resp.StatusCode != *expect:
		code = Fail
		fields = append(fields, kv("expected", *expect))
	case *contains != "" && !strings.Contains(string(body), *contains):
		code = Fail
		fields = append(fields, kv("missing", *contains))
	}
	fields = append(fields, kv("body", oneLine(string(body), 200)))
	return line(out, code, "http", url, fields...)
}

type loadStats struct {
	mu       sync.Mutex
	sent     int
	ok       int
	failed   int
	dropped  int
	lat      []time.Duration
	pods     map[string]int
	statuses map[string]int
	errLines int
}

func runLoad(args []string, out io.Writer) int {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	duration := fs.Duration("duration", 60*time.Second, "how long to send (at most 1h)")
	rps := fs.Int("rps", 20, "requests per second (1..1000)")
	expect := fs.Int("expect", 200, "status code that counts as success")
	timeout := fs.Duration("timeout", 5*time.Second, "per-request timeout")
	maxFail := fs.Int("max-failures", 0, "fail when more requests than this failed")
	conc := fs.Int("concurrency", 64, "requests in flight at most; a tick with none free counts as dropped (a failure)")
	noKeepAlive := fs.Bool("no-keepalive", false, "a new connection per request")
	var headers headerList
	fs.Var(&headers, "header", "request header 'Name: value' (repeatable)")
	pos, ok := setup(fs, args, 1, out)
	if !ok {
		return Usage
	}
	if *duration <= 0 || *duration > time.Hour || *rps < 1 || *rps > 1000 || *conc < 1 {
		fmt.Fprintln(out, "usage load: --duration must be in (0, 1h], --rps in 1..1000, --concurrency >= 1")
		return Usage
	}
	url := pos[0]
	if _, err := http.NewRequest(http.MethodGet, url, nil); err != nil {
		fmt.Fprintf(out, "usage load: %v\n", err)
		return Usage
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = *conc
	tr.DisableKeepAlives = *noKeepAlive
	client := &http.Client{Transport: tr, Timeout: *timeout}
	defer tr.CloseIdleConnections()

	st := &loadStats{pods: map[string]int{}, statuses: map[string]int{}}
	start := time.Now()
	record := func(at time.Duration, status string, pod string, lat time.Duration, err error) {
		st.mu.Lock()
		defer st.mu.Unlock()
		st.statuses[status]++
		if err == nil {
			st.ok++
			st.lat = append(st.lat, lat)
			if pod != "" {
				st.pods[pod]++
			}
			return
		}
		st.failed++
		if st.errLines < 10 {
			st.errLines++
			fmt.Fprintf(out, "error t=+%s %s\n", secs(at), errText(err))
		}
	}
	one := func() {
		at := time.Since(start)
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		headers.apply(req)
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			record(at, "error", "", 0, err)
			return
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
		lat := time.Since(t0)
		pod := resp.Header.Get(podHeader)
		if resp.StatusCode != *expect {
			record(at, fmt.Sprint(resp.StatusCode), pod, lat, fmt.Errorf("status %d from pod %q", resp.StatusCode, pod))
			return
		}
		record(at, fmt.Sprint(resp.StatusCode), pod, lat, nil)
	}

	sem := make(chan struct{}, *conc)
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(*rps)
	total := int(duration.Seconds() * float64(*rps))
	if total < 1 {
		total = 1
	}
	for i := range total {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		st.mu.Lock()
		st.sent++
		st.mu.Unlock()
		select {
		case sem <- struct{}{}:
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				one()
			}()
		default:
			record(time.Since(start), "dropped", "", 0, errors.New("dropped: all workers busy"))
			st.mu.Lock()
			st.dropped++
			st.mu.Unlock()
		}
	}
	wg.Wait()
	elapsed := time.Since(start)

	st.mu.Lock()
	defer st.mu.Unlock()
	sort.Slice(st.lat, func(i, j int) bool { return st.lat[i] < st.lat[j] })
	pct := func(p float64) string {
		if len(st.lat) == 0 {
			return "-"
		}
		i := int(p*float64(len(st.lat))+0.5) - 1
		i = max(0, min(i, len(st.lat)-1))
		return ms(st.lat[i])
	}
	code := OK
	if st.failed > *maxFail {
		code = Fail
		if st.ok == 0 && st.statuses["error"] == st.failed {
			code = Unreachable
		}
	}
	return line(out, code, "load", url, kv("duration", secs(elapsed)), kv("sent", st.sent), kv("ok", st.ok),
		kv("failed", st.failed), kv("dropped", st.dropped), kv("max_failures", *maxFail),
		kv("p50", pct(0.50)), kv("p95", pct(0.95)), kv("p99", pct(0.99)), kv("max", pct(1)),
		kv("statuses", countsField(st.statuses)), kv("pods", len(st.pods)), kv("by_pod", countsField(st.pods)))
}
