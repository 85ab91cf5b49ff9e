// Command go-backend is the go-backend stand-in for the node verification: HTTP on $PORT
// (default 8080) with /health, /metrics, / and /api/v1/{whoami,spread}, which call python-ai
// over gRPC at $AI_SERVICE_URL with round_robin. See ../../README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
	_ "time/tzdata" // TZ=Asia/Shanghai with no zoneinfo in the image

	"qingyu.local/verify/standins/internal/config"
	"qingyu.local/verify/standins/internal/gobackend"
	"qingyu.local/verify/standins/internal/httpx"
	"qingyu.local/verify/standins/internal/lifecycle"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "go-backend:", err)
		os.Exit(1)
	}
}

func run() error {
	logger := log.New(os.Stderr, "go-backend ", log.LstdFlags|log.Lmicroseconds|log.LUTC)
	fs := flag.NewFlagSet("go-backend", flag.ExitOnError)
	// 18 s fits the 30 s grace period after the 10 s preStop pause.
	lifeOpts := lifecycle.Flags(fs, 5*time.Second, 18*time.Second)
	_ = fs.Parse(os.Args[1:])
	lo, err := lifeOpts()
	if err != nil {
		return err
	}
	lo.Logger = logger
	port, err := config.Port(8080, "PORT", "HTTP_PORT")
	if err != nil {
		return err
	}

	pod := config.PodName()
	target := os.Getenv("AI_SERVICE_URL")
	if target == "" {
		logger.Printf("AI_SERVICE_URL is not set: /api/v1/whoami and /api/v1/spread answer 503")
	}
	life := lifecycle.New(lo)
	app := gobackend.New(gobackend.Options{Pod: pod, Life: life, AITarget: target})
	defer app.Close()

	ln, err := net.Listen("tcp", config.Addr(port))
	if err != nil {
		return err
	}
	life.HTTP(httpx.NewServer(app.HTTPHandler()), ln)
	logger.Printf("pod %s, app env %q, AI_SERVICE_URL %q", pod, os.Getenv("APP_ENV"), target)

	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	return life.Run(context.Background(), sig)
}
