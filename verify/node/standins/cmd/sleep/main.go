// Command sleep is a static `sleep` for images with no shell or coreutils: the manifests'
// preStop hook runs `exec sleep 10`. It takes coreutils' arguments (NUMBER[smhd]..., or
// "infinity") and exits 0 when the time is up, 1 on a bad argument. Signals keep their default
// action, so SIGTERM or SIGKILL ends it at once, as they end coreutils' sleep.
package main

import (
	"fmt"
	"os"
	"time"

	"qingyu.local/verify/standins/internal/sleep"
)

func main() {
	d, err := sleep.Parse(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "sleep: %v\nusage: sleep NUMBER[smhd]... | infinity\n", err)
		os.Exit(1)
	}
	for d == sleep.Forever {
		time.Sleep(time.Hour)
	}
	time.Sleep(d)
}
