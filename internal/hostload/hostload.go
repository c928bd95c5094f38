package hostload

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Sample is the machine's load at one instant.
type Sample struct {
	CPUs  int     `json:"cpus"`
	Load1 float64 `json:"load1"` // 1-minute load average; -1 when unknown
}

// Read samples the machine now. Load1 is -1 where /proc/loadavg cannot be
// read (not Linux).
func Read() Sample {
	s := Sample{CPUs: runtime.NumCPU(), Load1: -1}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if l, err := Parse(string(b)); err == nil {
			s.Load1 = l
		}
	}
	return s
}

// Parse returns the 1-minute load average of a /proc/loadavg line
// ("0.52 0.58 0.59 1/467 12345").
func Parse(line string) (float64, error) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return 0, fmt.Errorf("parse load average %q: empty", line)
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("parse load average %q: want a non-negative number first", line)
	}
	return v, nil
}

// PerCPU is the load average per CPU (1.0: every CPU busy on average), -1
// when unknown.
func (s Sample) PerCPU() float64 {
	if s.Load1 < 0 || s.CPUs <= 0 {
		return -1
	}
	return s.Load1 / float64(s.CPUs)
}

// String is "load average 24.0 on 2 CPUs", or "2 CPUs, load unknown".
func (s Sample) String() string {
	if s.Load1 < 0 {
		return fmt.Sprintf("%d CPUs, load unknown", s.CPUs)
	}
	return fmt.Sprintf("load average %.1f on %d CPUs", s.Load1, s.CPUs)
}
