// Package sleep parses coreutils-style sleep arguments: each a number with an optional
// suffix s, m, h or d (fractions allowed), or "infinity"; the durations add up.
package sleep

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Forever stands for "infinity".
const Forever = time.Duration(math.MaxInt64)

// Parse adds up the arguments.
func Parse(args []string) (time.Duration, error) {
	if len(args) == 0 {
		return 0, errors.New("missing operand")
	}
	var total time.Duration
	for _, a := range args {
		d, err := parseOne(a)
		if err != nil {
			return 0, err
		}
		if d == Forever || total > Forever-d {
			return Forever, nil
		}
		total += d
	}
	return total, nil
}

func parseOne(a string) (time.Duration, error) {
	if strings.EqualFold(a, "infinity") || strings.EqualFold(a, "inf") {
		return Forever, nil
	}
	unit := time.Second
	num := a
	if n := len(a); n > 0 {
		switch a[n-1] {
		case 's':
			num = a[:n-1]
		case 'm':
			unit, num = time.Minute, a[:n-1]
		case 'h':
			unit, num = time.Hour, a[:n-1]
		case 'd':
			unit, num = 24*time.Hour, a[:n-1]
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || math.IsNaN(f) || num == "" || strings.ContainsAny(num, "xXpPnN_") {
		return 0, fmt.Errorf("invalid time interval %q", a)
	}
	d := f * float64(unit)
	if d >= float64(Forever) {
		return Forever, nil
	}
	return time.Duration(d), nil
}
