package probe

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

// respCommand encodes a command as a RESP array of bulk strings.
func respCommand(args ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return []byte(b.String())
}

// respReply reads one simple reply line (+OK, -ERR ..., :1, or the first line of a bulk
// string) and returns it without its CRLF.
func respReply(r *bufio.Reader) (string, error) {
	l, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	l = strings.TrimRight(l, "\r\n")
	if strings.HasPrefix(l, "$") && l != "$-1" {
		v, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		return "+" + strings.TrimRight(v, "\r\n"), nil
	}
	return l, nil
}

func runRedis(args []string, out io.Writer) int {
	fs := flag.NewFlagSet("redis", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 3*time.Second, "connect and reply timeout")
	user := fs.String("user", "", "ACL user for AUTH (none: AUTH with the password alone)")
	passFile := fs.String("pass-file", "", "file holding the password (trailing newline dropped); none: no AUTH")
	expectNoAuth := fs.Bool("expect-noauth", false, "pass only if PING without AUTH is refused with NOAUTH (proves a password is required)")
	pos, ok := setup(fs, args, 1, out)
	if !ok {
		return Usage
	}
	addr := pos[0]
	var pass string
	if *passFile != "" {
		b, err := os.ReadFile(*passFile)
		if err != nil {
			return line(out, Usage, "redis", addr, kv("error", errText(err)))
		}
		pass = strings.TrimRight(string(b), "\r\n")
	}
	start := time.Now()
	c, err := net.DialTimeout("tcp", addr, *timeout)
	if err != nil {
		return line(out, Unreachable, "redis", addr, kv("error", errText(err)))
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(*timeout))
	rd := bufio.NewReader(c)
	call := func(args ...string) (string, error) {
		if _, err := c.Write(respCommand(args...)); err != nil {
			return "", err
		}
		return respReply(rd)
	}
	auth := "none"
	if pass != "" && !*expectNoAuth {
		a := []string{"AUTH", pass}
		if *user != "" {
			a = []string{"AUTH", *user, pass}
		}
		r, err := call(a...)
		if err != nil {
			return line(out, Unreachable, "redis", addr, "step=AUTH", kv("error", errText(err)))
		}
		if r != "+OK" {
			return line(out, Fail, "redis", addr, "step=AUTH", kv("reply", oneLine(r, 200)))
		}
		auth = "ok"
		if *user != "" {
			auth = "ok(user=" + *user + ")"
		}
	}
	r, err := call("PING")
	if err != nil {
		return line(out, Unreachable, "redis", addr, "step=PING", kv("error", errText(err)))
	}
	took := kv("time", ms(time.Since(start)))
	if *expectNoAuth {
		if strings.HasPrefix(r, "-NOAUTH") {
			return line(out, OK, "redis", addr, "auth=required", kv("reply", oneLine(r, 200)), took)
		}
		return line(out, Fail, "redis", addr, "auth=not-required", kv("reply", oneLine(r, 200)), took)
	}
	if r != "+PONG" {
		return line(out, Fail, "redis", addr, kv("auth", auth), "step=PING", kv("reply", oneLine(r, 200)), took)
	}
	return line(out, OK, "redis", addr, kv("auth", auth), "reply=PONG", took)
}
