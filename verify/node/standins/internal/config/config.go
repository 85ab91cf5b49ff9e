// Package config reads the stand-ins' settings from the environment, as the real apps do.
package config

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

// PodName is the name the stand-in reports: POD_NAME, else HOSTNAME (the pod's name in
// Kubernetes), else the kernel's host name.
func PodName() string {
	for _, k := range []string{"POD_NAME", "HOSTNAME"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "unknown"
}

// String returns the variable's value, or def when it is unset or empty.
func String(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// Port returns the first of keys that is set, as a TCP port, or def.
func Port(def int, keys ...string) (int, error) {
	for _, k := range keys {
		v := os.Getenv(k)
		if v == "" {
			continue
		}
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			return 0, fmt.Errorf("%s=%q is not a TCP port", k, v)
		}
		return p, nil
	}
	return def, nil
}

// Duration parses the variable as a Go duration ("5s") or a number of seconds ("5").
func Duration(key string, def time.Duration) (time.Duration, error) {
	v := os.Getenv(key)
	if v == "" {
		return def, nil
	}
	return ParseDuration(v)
}

// ParseDuration accepts a Go duration or a plain number of seconds.
func ParseDuration(v string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if f < 0 {
			return 0, fmt.Errorf("negative duration %q", v)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q", v)
	}
	if d < 0 {
		return 0, fmt.Errorf("negative duration %q", v)
	}
	return d, nil
}

// Addr joins LISTEN_HOST (default: every interface, as a pod needs) and a port.
func Addr(port int) string {
	return net.JoinHostPort(os.Getenv("LISTEN_HOST"), strconv.Itoa(port))
}
