package guardedio

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A pipe whose reader closed is seen as gone before anything is written
// to it; one still read, and a regular file, are not.
func TestReaderGone(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if ReaderGone(w) {
		t.Fatal("a pipe still read is gone")
	}
	r.Close()
	if !ReaderGone(w) {
		t.Fatal("a pipe whose reader closed is not gone")
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ReaderGone(f) {
		t.Fatal("a regular file is gone")
	}
}

// Watch marks the output lost within an interval or so of its reader
// closing, without a write; it ends with its context.
func TestWatchNoticesAClosedReaderWithoutAWrite(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	_, _, lost := Guard(w, os.Stderr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); lost.Watch(ctx, w, 10*time.Millisecond) }()
	if lost.IsLost() {
		t.Fatal("lost while its reader is open")
	}
	r.Close()
	select {
	case <-lost.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("not lost 5s after its reader closed")
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Watch still runs after the output was lost")
	}
}
