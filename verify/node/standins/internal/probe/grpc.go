package probe

import (
	"context"
	"flag"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"qingyu.local/verify/standins/internal/whoami"
)

func runGRPCHealth(args []string, out io.Writer) int {
	fs := flag.NewFlagSet("grpc-health", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 3*time.Second, "call timeout")
	service := fs.String("service", "", `service name to check ("" = the server as a whole)`)
	pos, ok := setup(fs, args, 1, out)
	if !ok {
		return Usage
	}
	target := pos[0]
	cc, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return line(out, Usage, "grpc-health", target, kv("error", errText(err)))
	}
	defer func() { _ = cc.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	start := time.Now()
	resp, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{Service: *service})
	took := kv("time", ms(time.Since(start)))
	if err != nil {
		c := status.Code(err)
		code := Fail
		if c == codes.Unavailable || c == codes.DeadlineExceeded {
			code = Unreachable
		}
		return line(out, code, "grpc-health", target, kv("service", *service), kv("code", c), took, kv("error", errText(err)))
	}
	code := Fail
	if resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
		code = OK
	}
	return line(out, code, "grpc-health", target, kv("service", *service), kv("status", resp.GetStatus()), took)
}

func runGRPCWhoami(args []string, out io.Writer) int {
	fs := flag.NewFlagSet("grpc-whoami", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 3*time.Second, "per-call timeout")
	calls := fs.Int("calls", 30, "number of calls (1..10000)")
	minDistinct := fs.Int("min-distinct", 1, "fail when fewer pods answered")
	pos, ok := setup(fs, args, 1, out)
	if !ok {
		return Usage
	}
	if *calls < 1 || *calls > 10000 {
		return line(out, Usage, "grpc-whoami", pos[0], "error=--calls must be 1..10000")
	}
	target := pos[0]
	cc, err := whoami.NewClient(target)
	if err != nil {
		return line(out, Usage, "grpc-whoami", target, kv("error", errText(err)))
	}
	defer func() { _ = cc.Close() }()
	res := whoami.Spread(context.Background(), cc, "probe", *calls, func(ctx context.Context) (context.Context, context.CancelFunc) {
		return context.WithTimeout(ctx, *timeout)
	})
	fields := []string{kv("calls", res.Calls), kv("errors", res.Errors), kv("distinct", res.Distinct),
		kv("min_distinct", *minDistinct), kv("by_pod", countsField(res.Pods))}
	if res.FirstErr != "" {
		fields = append(fields, kv("error_codes", countsField(res.Codes)), kv("first_error", oneLine(res.FirstErr, 200)))
	}
	code := OK
	switch {
	case res.Errors == res.Calls && (res.Codes[codes.Unavailable.String()]+res.Codes[codes.DeadlineExceeded.String()]) == res.Errors:
		code = Unreachable
	case res.Errors > 0 || res.Distinct < *minDistinct:
		code = Fail
	}
	return line(out, code, "grpc-whoami", target, fields...)
}
