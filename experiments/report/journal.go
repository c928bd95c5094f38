package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Journal is journal.ndjson: every event of a run, one JSON object a line,
// written as it happens.
type Journal struct {
	mu sync.Mutex
	f  *os.File
	w  *bufio.Writer
}

// Event is one journal line. Type is run-start, fault-applied, fault-reverted,
// fault-error, second, steady-state, slo, check, verdict, run-end.
type Event struct {
	Time time.Time      `json:"time"`
	Type string         `json:"type"`
	Data map[string]any `json:"data,omitempty"`
}

// OpenJournal creates journal.ndjson in dir.
func OpenJournal(dir string) (*Journal, error) {
	f, err := os.Create(filepath.Join(dir, "journal.ndjson"))
	if err != nil {
		return nil, fmt.Errorf("create journal: %w", err)
	}
	return &Journal{f: f, w: bufio.NewWriter(f)}, nil
}

// Add appends one event.
func (j *Journal) Add(typ string, data map[string]any) {
	if j == nil {
		return
	}
	b, err := json.Marshal(Event{Time: time.Now().UTC(), Type: typ, Data: data})
	if err != nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return
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
