// Command python-ai is the python-ai stand-in for the node verification: HTTP on $PORT
// (default 8081) with /health, /metrics and SSE under /api/v1/ai/, gRPC on $GRPC_PORT
// (default 50051) with grpc.health.v1.Health and qingyu.v1.Whoami/Name. See ../../README.md.
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
	"qingyu.local/verify/standins/internal/httpx"
	"qingyu.local/verify/standins/internal/lifecycle"
	"qingyu.local/verify/standins/internal/pythonai"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "python-ai:", err)
		os.Exit(1)
	}
}

func run() error {
	logger := log.New(os.Stderr, "python-ai ", log.LstdFlags|log.Lmicroseconds|log.LUTC)
	fs := flag.NewFlagSet("python-ai", flag.ExitOnError)
	// 45 s fits the smallest grace period (development: 60 s, minus the 10 s preStop pause).
	lifeOpts := lifecycle.Flags(fs, 5*time.Second, 45*time.Second)
	_ = fs.Parse(os.Args[1:])
	lo, err := lifeOpts()
	if err != nil {
		return err
	}
	lo.Logger = logger
	httpPort, err := config.Port(8081, "PORT", "HTTP_PORT")
	if err != nil {
		return err
	}
	grpcPort, err := config.Port(50051, "GRPC_PORT")
	if err != nil {
		return err
	}
	maxAge, err := config.Duration("STANDIN_GRPC_MAX_CONNECTION_AGE", 5*time.Minute)
	if err != nil {
		return err
	}

	pod := config.PodName()
	life := lifecycle.New(lo)
	app := pythonai.New(pythonai.Options{Pod: pod, Life: life, MaxConnectionAge: maxAge})

	hl, err := net.Listen("tcp", config.Addr(httpPort))
	if err != nil {
		return err
	}
	gl, err := net.Listen("tcp", config.Addr(grpcPort))
	if err != nil {
		return err
	}
	life.HTTP(httpx.NewServer(app.HTTPHandler()), hl)
	life.GRPC(app.GRPCServer(), gl)
	logger.Printf("pod %s, app env %q, grpc max connection age %s", pod, os.Getenv("APP_ENV"), maxAge)

	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	return life.Run(context.Background(), sig)
}
