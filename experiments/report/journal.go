package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Journal is journal.ndjson: every event of a run, one JSON object a line,
// written as it happens.
type Journal struct {
	mu     sync.Mutex
	f      *os.File
	w      *bufio.Writer
	origin time.Time // t = 0: the end of warmup; zero until SetOrigin
	redact func([]byte) []byte
}

// SetRedact makes every line pass through redact before it is written
// (the run's redactor of sensitive values).
func (j *Journal) SetRedact(redact func([]byte) []byte) {
	if j == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.redact = redact
}

// Event is one journal line. Type is run-start, workload-start,
// fault-applied, fault-reverted, fault-error, second, member, burn,
// stop-condition, verdict and others. T is Time in seconds from the end of
// warmup (the origin of a fault's `at`), on every event written once the
// workload started.
type Event struct {
	Time time.Time      `json:"time"`
	T    *float64       `json:"t,omitempty"`
	Type string         `json:"type"`
	Data map[string]any `json:"data,omitempty"`
}

// SetOrigin sets t = 0 of the events that follow: the end of warmup.
func (j *Journal) SetOrigin(t0 time.Time) {
	if j == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.origin = t0
}

// OpenJournal creates journal.ndjson in dir.
func OpenJournal(dir string) (*Journal, error) {
	f, err := os.Create(filepath.Join(dir, "journal.ndjson"))
	if err != nil {
		return nil, fmt.Errorf("create journal: %w", err)
	}
	return &Journal{f: f, w: bufio.NewWriter(f)}, nil
}

// Add appends one event that happens now.
func (j *Journal) Add(typ string, data map[string]any) { j.AddAt(time.Now(), typ, data) }

// AddAt appends one event that happened at at: the instant a result
// records too (a fault's apply and revert), so both say the same time.
func (j *Journal) AddAt(at time.Time, typ string, data map[string]any) {
	if j == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return
	}
	ev := Event{Time: at.UTC(), Type: typ, Data: data}
	if !j.origin.IsZero() {
		t := math.Round(ev.Time.Sub(j.origin).Seconds()*1000) / 1000
		ev.T = &t
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return
	}
	if j.redact != nil {
		b = j.redact(b)
	}
	_, _ = j.w.Write(append(b, '\n'))
}

// Close flushes and closes the journal. It is idempotent; events added after
// it are dropped.
func (j *Journal) Close() error {
	if j == nil {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.w.Flush()
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	j.f = nil
	return err
}
