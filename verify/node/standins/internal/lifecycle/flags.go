package lifecycle

import (
	"flag"
	"fmt"
	"time"

	"qingyu.local/verify/standins/internal/config"
)

// Flags registers --drain-delay, --shutdown-timeout and --startup-delay on fs, defaulting to
// STANDIN_DRAIN_DELAY, STANDIN_SHUTDOWN_TIMEOUT and STANDIN_STARTUP_DELAY, else to the given
// defaults. Call the returned function after fs.Parse.
func Flags(fs *flag.FlagSet, drain, timeout time.Duration) func() (Options, error) {
	var errs []error
	get := func(key string, def time.Duration) time.Duration {
		d, err := config.Duration(key, def)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
		return d
	}
	var o Options
	fs.DurationVar(&o.DrainDelay, "drain-delay", get("STANDIN_DRAIN_DELAY", drain),
		"after SIGTERM, keep the listeners open this long (env STANDIN_DRAIN_DELAY)")
	fs.DurationVar(&o.Timeout, "shutdown-timeout", get("STANDIN_SHUTDOWN_TIMEOUT", timeout),
		"from SIGTERM to the forced close of what is still in flight (env STANDIN_SHUTDOWN_TIMEOUT)")
	fs.DurationVar(&o.StartupDelay, "startup-delay", get("STANDIN_STARTUP_DELAY", 0),
		"/health fails for this long after start (env STANDIN_STARTUP_DELAY)")
	return func() (Options, error) {
		if len(errs) > 0 {
			return o, errs[0]
		}
		return o, nil
	}
}
