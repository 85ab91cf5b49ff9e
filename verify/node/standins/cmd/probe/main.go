// Command probe is a small static client for the node verification's probe pods:
// tcp, dns, http, sse, grpc-health, grpc-whoami, redis and load checks, each printing one
// summary line and exiting 0 ok, 1 fail, 2 unreachable, 64 usage. Run `probe help`.
package main

import (
	"os"

	"qingyu.local/verify/standins/internal/probe"
)

func main() {
	os.Exit(probe.Main(os.Args[1:], os.Stdout))
}
