package probe

import (
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"strings"
	"time"
)

func runTCP(args []string, out io.Writer) int {
	fs := flag.NewFlagSet("tcp", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 3*time.Second, "connect timeout")
	pos, ok := setup(fs, args, 1, out)
	if !ok {
		return Usage
	}
	start := time.Now()
	c, err := net.DialTimeout("tcp", pos[0], *timeout)
	if err != nil {
		return line(out, Unreachable, "tcp", pos[0], kv("error", errText(err)))
	}
	_ = c.Close()
	return line(out, OK, "tcp", pos[0], kv("connect", ms(time.Since(start))), kv("remote", c.RemoteAddr()))
}

func runDNS(args []string, out io.Writer) int {
	fs := flag.NewFlagSet("dns", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 3*time.Second, "lookup timeout")
	minAddrs := fs.Int("min", 1, "fail with fewer addresses")
	pos, ok := setup(fs, args, 1, out)
	if !ok {
		return Usage
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, pos[0])
	if err != nil {
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound {
			return line(out, Fail, "dns", pos[0], "addrs=0", kv("error", errText(err)))
		}
		return line(out, Unreachable, "dns", pos[0], kv("error", errText(err)))
	}
	code := OK
	if len(addrs) < *minAddrs {
		code = Fail
	}
	return line(out, code, "dns", pos[0], kv("addrs", len(addrs)), kv("min", *minAddrs), kv("list", strings.Join(addrs, ",")))
}
