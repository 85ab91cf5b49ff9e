package metrics

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// clock ticks per second for /proc/self/stat: 100 on every Linux platform Go supports.
const userHZ = 100

// RegisterProcess registers the process_* families (as client_golang's process collector
// names them, read from /proc where it exists) and go_goroutines.
func (r *Registry) RegisterProcess(start time.Time) {
	r.NewGaugeFunc("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
		func() (float64, bool) { return float64(start.UnixNano()) / 1e9, true })
	r.NewCounterFunc("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
		func() (float64, bool) {
			f, ok := procStat()
			if !ok || len(f) < 15 {
				return 0, false
			}
			u, err1 := strconv.ParseFloat(f[13], 64)
			s, err2 := strconv.ParseFloat(f[14], 64)
			if err1 != nil || err2 != nil {
				return 0, false
			}
			return (u + s) / userHZ, true
		})
	r.NewGaugeFunc("process_resident_memory_bytes", "Resident memory size in bytes.",
		func() (float64, bool) {
			f, ok := procStat()
			if !ok || len(f) < 24 {
				return 0, false
			}
			pages, err := strconv.ParseFloat(f[23], 64)
			if err != nil {
				return 0, false
			}
			return pages * float64(os.Getpagesize()), true
		})
	r.NewGaugeFunc("process_open_fds", "Number of open file descriptors.",
		func() (float64, bool) {
			ents, err := os.ReadDir("/proc/self/fd")
			if err != nil {
				return 0, false
			}
			return float64(len(ents)), true
		})
	r.NewGaugeFunc("go_goroutines", "Number of goroutines that currently exist.",
		func() (float64, bool) { return float64(runtime.NumGoroutine()), true })
}

// procStat returns /proc/self/stat's fields, numbered from 0 = pid (the comm field, which may
// hold spaces, is skipped over as one field).
func procStat() ([]string, bool) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return nil, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, false
	}
	return append([]string{"pid", "comm"}, strings.Fields(s[i+1:])...), true
}
