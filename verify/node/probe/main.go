// Command qy-probe is the test program of verify/node/smoke.sh, small and static (CGO_ENABLED=0,
// so its resolver is Go's own and reads the pod's /etc/resolv.conf):
//
//	qy-probe serve [-listen :8080] [-write DIR]...  HTTP server: / and /healthz; each DIR gets a
//	                                                file written at start (a read-only root
//	                                                filesystem still has writable volumes)
//	qy-probe get URL [-timeout 3s]                  GET; prints the body; exit 0 on 2xx
//	qy-probe tcp HOST:PORT [-timeout 3s]            TCP connect; exit 0 when it connects
//	qy-probe resolve NAME [-timeout 3s]             DNS lookup; prints the addresses
//	qy-probe sleep                                  wait for SIGTERM (a client pod for exec)
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type dirs []string

func (d *dirs) String() string     { return strings.Join(*d, ",") }
func (d *dirs) Set(v string) error { *d = append(*d, v); return nil }

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: qy-probe serve|get|tcp|resolve|sleep ...")
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	timeout := fs.Duration("timeout", 3*time.Second, "timeout")
	listen := fs.String("listen", ":8080", "listen address (serve)")
	var write dirs
	fs.Var(&write, "write", "a directory to write a file into at start (serve; repeatable)")
	// Flags may come before or after the one positional argument.
	var pos []string
	for len(args) > 0 {
		_ = fs.Parse(args)
		args = fs.Args()
		if len(args) > 0 {
			pos = append(pos, args[0])
			args = args[1:]
		}
	}
	arg := func() string {
		if len(pos) != 1 {
			fmt.Fprintf(os.Stderr, "qy-probe %s: one argument expected\n", cmd)
			os.Exit(2)
		}
		return pos[0]
	}
	switch cmd {
	case "serve":
		os.Exit(serve(*listen, write))
	case "get":
		os.Exit(get(arg(), *timeout))
	case "tcp":
		c, err := net.DialTimeout("tcp", arg(), *timeout)
		if err != nil {
			fmt.Println("tcp:", err)
			os.Exit(1)
		}
		c.Close()
		fmt.Println("connected")
	case "resolve":
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		defer cancel()
		addrs, err := net.DefaultResolver.LookupHost(ctx, arg())
		if err != nil {
			fmt.Println("resolve:", err)
			os.Exit(1)
		}
		fmt.Println(strings.Join(addrs, " "))
	case "sleep":
		waitSignal()
	default:
		fmt.Fprintln(os.Stderr, "unknown command", cmd)
		os.Exit(2)
	}
}

func waitSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	<-ch
}

func serve(listen string, write dirs) int {
	host, _ := os.Hostname()
	for _, d := range write {
		f := filepath.Join(d, "qy-probe-"+host)
		if err := os.WriteFile(f, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "write:", err)
			return 1
		}
		fmt.Println("wrote", f)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			// A webhook receiver: each POST's path and body (up to 1 MiB) on one stdout line.
			body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			fmt.Printf("POST %s %s\n", r.URL.Path, strings.ReplaceAll(string(body), "\n", " "))
			w.WriteHeader(http.StatusOK)
			return
		}
		fmt.Fprintf(w, "hello from %s uid=%d\n", host, os.Getuid())
	})
	srv := &http.Server{Addr: listen, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	fmt.Println("listening on", listen)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case err := <-errc:
		fmt.Fprintln(os.Stderr, "serve:", err)
		return 1
	case <-sig:
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		return 0
	}
}

func get(url string, timeout time.Duration) int {
	c := &http.Client{Timeout: timeout}
	resp, err := c.Get(url)
	if err != nil {
		fmt.Println("get:", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	fmt.Print(string(body))
	if resp.StatusCode/100 != 2 {
		fmt.Println("status", resp.Status)
		return 1
	}
	return 0
}
