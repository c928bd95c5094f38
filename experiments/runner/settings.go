package runner

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/sirupsen/logrus"
)

// Settings are what the command line decides about a run, the same for an
// experiment's run (RunOptions) and a GameDay's (gameday.Options, which
// passes them on to every step).
type Settings struct {
	// Seed overrides the file's seed when set (--seed).
	Seed *int64
	// Runtime overrides target.runtime when set (--target).
	Runtime string
	// OutDir is the output folder; "" means chaosctl-out/<name>-<UTC time>.
	OutDir string
	// StateDir holds the fault ledger; "" means injectors.StateDir().
	StateDir string
	// Binary runs the demo cluster's members; "" means this executable.
	Binary string
	// Version is written into the results.
	Version string
	Log     *logrus.Entry
	// Progress, when set, is shown the run's progress line about once a
	// second (the CLI decides how: redrawn on a terminal, a plain status
	// line every few seconds elsewhere); nil keeps quiet.
	Progress ProgressLine
	// CheckBudget bounds the linearizability check (0: DefaultCheckBudget).
	CheckBudget time.Duration
	// PrometheusURL is the Prometheus server of prometheus probes and ratio
	// SLOs that name none (--prometheus-url).
	PrometheusURL string
	// MemberLogLevel is the demo members' log level (their logs go to files in
	// the output folder); "" means info.
	MemberLogLevel string
}

// ProgressLine shows a run's progress line; the runner never writes
// carriage returns or escape codes itself.
type ProgressLine interface {
	// Show replaces the line shown; an error stops the progress.
	Show(line string) error
	// Clear removes the line at the end of the run.
	Clear()
}

// SeedFor is the run's seed: Seed when set, else the file's, else a new
// random one.
func (s Settings) SeedFor(file *int64) int64 {
	switch {
	case s.Seed != nil:
		return *s.Seed
	case file != nil:
		return *file
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	var seed int64
	for _, x := range b[:6] {
		seed = seed<<8 | int64(x)
	}
	return seed
}

// RuntimeFor is the run's runtime: Runtime when set, else the file's.
func (s Settings) RuntimeFor(file string) string {
	if s.Runtime != "" {
		return s.Runtime
	}
	return file
}

// MakeOutDir creates the output folder of the run called name that started
// at started and returns it; an error wraps ErrEnvironment.
func (s Settings) MakeOutDir(name string, started time.Time) (string, error) {
	dir := s.OutDir
	if dir == "" {
		dir = filepath.Join("chaosctl-out", name+"-"+started.Format("20060102T150405Z"))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create output folder: %w: %w", ErrEnvironment, err)
	}
	return dir, nil
}

// Logger is Log, or a logger that discards everything when Log is nil.
func (s Settings) Logger() *logrus.Entry {
	if s.Log != nil {
		return s.Log
	}
	l := logrus.New()
	l.SetOutput(io.Discard)
	return logrus.NewEntry(l)
}

// RunID names one run of name that started at started: the name, the UTC
// time and a random suffix.
func RunID(name string, started time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return name + "-" + started.Format("20060102t150405") + "-" + hex.EncodeToString(b)
}
