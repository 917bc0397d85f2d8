package ratelimit

import (
	"testing"
	"time"
)

func TestParseRule(t *testing.T) {
	for in, want := range map[string]Rule{
		"60/1m":  {Name: "x", Limit: 60, Window: time.Minute},
		"5/10s":  {Name: "x", Limit: 5, Window: 10 * time.Second},
		"off":    {Name: "x"},
		"":       {Name: "x"},
		" 3/1h ": {Name: "x", Limit: 3, Window: time.Hour},
	} {
		got, err := ParseRule("x", in)
		if err != nil || got != want {
			t.Errorf("ParseRule(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"60", "x/1m", "60/soon", "-1/1m", "5/10ms"} {
		if _, err := ParseRule("x", bad); err == nil {
			t.Errorf("ParseRule(%q) succeeded", bad)
		}
	}
}
