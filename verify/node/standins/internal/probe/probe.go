// Package probe is the node verification's small static client (cmd/probe). Each subcommand
// prints one summary line (sse also prints a line per event, load one per failure, up to 10)
// and exits with:
//
//	0 ok           the check passed
//	1 fail         the target answered, but not as expected (status, NOT_SERVING, refused
//	               auth, too few events, failures over the limit, ...)
//	2 unreachable  no answer: connection refused, DNS failure, timeout before an answer
//	64 usage       bad arguments
//
// Summary lines start with the outcome word (ok, fail, unreachable, usage), the subcommand
// and its target, then key=value fields.
package probe

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// Exit codes.
const (
	OK          = 0
	Fail        = 1
	Unreachable = 2
	Usage       = 64
)

var words = map[int]string{OK: "ok", Fail: "fail", Unreachable: "unreachable", Usage: "usage"}

type command struct {
	name, args, help string
	run              func(args []string, out io.Writer) int
}

var commands []command

func init() {
	commands = []command{
		{"tcp", "HOST:PORT [--timeout 3s]", "TCP connect", runTCP},
		{"dns", "NAME [--min N] [--timeout 3s]", "resolve NAME (a headless Service: one address per ready pod)", runDNS},
		{"http", "URL [--expect 200] [--contains TEXT] [--header 'K: V']... [--timeout 5s]", "one GET", runHTTP},
		{"sse", "URL [--last-event-id ID] [--min-events N] [--min-spread D] [--resume N] [--timeout 60s] [--quiet]", "read an event stream, one line per event with its arrival time", runSSE},
		{"grpc-health", "HOST:PORT [--service NAME] [--timeout 3s]", "grpc.health.v1.Health/Check", runGRPCHealth},
		{"grpc-whoami", "TARGET [--calls 30] [--min-distinct N] [--timeout 3s]", "qingyu.v1.Whoami/Name over a round_robin client (TARGET as grpc.NewClient takes it, e.g. dns:///svc:50051)", runGRPCWhoami},
		{"redis", "HOST:PORT [--user U] [--pass-file F] [--expect-noauth] [--timeout 3s]", "AUTH (if a password is given) and PING over RESP", runRedis},
		{"load", "URL [--duration 60s] [--rps 20] [--expect 200] [--timeout 5s] [--max-failures 0] [--concurrency 64] [--no-keepalive]", "bounded open-loop GET load; counts failed requests and the pods that answered", runLoad},
	}
}

// Main runs the probe with args (without the program name) and returns the exit code.
func Main(args []string, out io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(out)
		if len(args) == 0 {
			return Usage
		}
		return OK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(args[1:], out)
		}
	}
	fmt.Fprintf(out, "usage probe: unknown subcommand %q\n", args[0])
	usage(out)
	return Usage
}

func usage(out io.Writer) {
	fmt.Fprintln(out, "usage: probe SUBCOMMAND ARGS (flags may follow the arguments)")
	for _, c := range commands {
		fmt.Fprintf(out, "  probe %s %s\n      %s\n", c.name, c.args, c.help)
	}
	fmt.Fprintln(out, "exit codes: 0 ok, 1 fail (answered wrongly), 2 unreachable, 64 usage")
}

// parse parses flags that may come before, between or after the positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// setup parses args and checks the positional count; it prints the usage line on error.
func setup(fs *flag.FlagSet, args []string, want int, out io.Writer) ([]string, bool) {
	pos, err := parse(fs, args)
	if err == nil && len(pos) != want {
		err = fmt.Errorf("want %d argument(s), got %d", want, len(pos))
	}
	if err != nil {
		for _, c := range commands {
			if c.name == fs.Name() {
				fmt.Fprintf(out, "usage %s: %v: probe %s %s\n", fs.Name(), err, c.name, c.args)
			}
		}
		return nil, false
	}
	return pos, true
}

// line prints the summary line and returns code.
func line(out io.Writer, code int, cmd, target string, fields ...string) int {
	parts := append([]string{words[code], cmd, target}, fields...)
	fmt.Fprintln(out, strings.Join(parts, " "))
	return code
}

func kv(k string, v any) string {
	s := fmt.Sprint(v)
	if s == "" || strings.ContainsAny(s, " \t\n\"") {
		s = fmt.Sprintf("%q", s)
	}
	return k + "=" + s
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
}

func secs(d time.Duration) string {
	return fmt.Sprintf("%.3fs", d.Seconds())
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}

func errText(err error) string {
	return oneLine(err.Error(), 300)
}

// countsField renders {a:1,b:2} as "a:1,b:2", sorted by key.
func countsField(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s:%d", k, m[k]))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ",")
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}
