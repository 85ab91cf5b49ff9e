package config

import (
	"testing"
	"time"
)

func TestPodName(t *testing.T) {
	t.Setenv("POD_NAME", "")
	t.Setenv("HOSTNAME", "python-ai-7d9-abcde")
	if got := PodName(); got != "python-ai-7d9-abcde" {
		t.Errorf("HOSTNAME: %q", got)
	}
	t.Setenv("POD_NAME", "from-downward-api")
	if got := PodName(); got != "from-downward-api" {
		t.Errorf("POD_NAME wins: %q", got)
	}
}

func TestPortAndDuration(t *testing.T) {
	t.Setenv("PORT", "")
	t.Setenv("HTTP_PORT", "9000")
	if p, err := Port(8081, "PORT", "HTTP_PORT"); err != nil || p != 9000 {
		t.Errorf("port %d %v", p, err)
	}
	t.Setenv("PORT", "0")
	if _, err := Port(8081, "PORT"); err == nil {
		t.Error("port 0 accepted")
	}
	for in, want := range map[string]time.Duration{"5": 5 * time.Second, "1.5": 1500 * time.Millisecond, "250ms": 250 * time.Millisecond} {
		if d, err := ParseDuration(in); err != nil || d != want {
			t.Errorf("%q: %v %v", in, d, err)
		}
	}
	if _, err := ParseDuration("-1s"); err == nil {
		t.Error("negative accepted")
	}
}
