package hostload

import (
	"runtime"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		line string
		want float64
		ok   bool
	}{
		{"0.52 0.58 0.59 1/467 12345\n", 0.52, true},
		{"24.04 23.99 21.42 30/900 99", 24.04, true},
		{"", 0, false},
		{"x 1 2", 0, false},
		{"-1 0 0", 0, false},
	} {
		got, err := Parse(tc.line)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("Parse(%q) = %v, %v; want %v (ok %v)", tc.line, got, err, tc.want, tc.ok)
		}
	}
}

func TestReadAndText(t *testing.T) {
	s := Read()
	if s.CPUs != runtime.NumCPU() {
		t.Fatalf("CPUs %d, want %d", s.CPUs, runtime.NumCPU())
	}
	if runtime.GOOS == "linux" && s.Load1 < 0 {
		t.Fatal("no load average read from /proc/loadavg on Linux")
	}
	if got := (Sample{CPUs: 2, Load1: 24.04}).String(); got != "load average 24.0 on 2 CPUs" {
		t.Fatalf("String() = %q", got)
	}
	if got := (Sample{CPUs: 2, Load1: -1}).String(); got != "2 CPUs, load unknown" {
		t.Fatalf("String() = %q", got)
	}
	if got := (Sample{CPUs: 2, Load1: 3}).PerCPU(); got != 1.5 {
		t.Fatalf("PerCPU() = %v", got)
	}
}
