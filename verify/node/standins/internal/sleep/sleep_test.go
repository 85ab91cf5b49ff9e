package sleep

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	ok := map[string]time.Duration{
		"10": 10 * time.Second, "0.5": 500 * time.Millisecond, "2s": 2 * time.Second, "1.5m": 90 * time.Second,
		"1h": time.Hour, "1d": 24 * time.Hour, "0": 0, "infinity": Forever, "1e1": 10 * time.Second,
	}
	for in, want := range ok {
		got, err := Parse([]string{in})
		if err != nil || got != want {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
	if got, err := Parse([]string{"1m", "30"}); err != nil || got != 90*time.Second {
		t.Errorf("sum: %v %v", got, err)
	}
	for _, bad := range []string{"", "-1", "x", "1x", "nan", "0x10", "1_0", "s"} {
		if _, err := Parse([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := Parse(nil); err == nil {
		t.Error("no operand accepted")
	}
}
