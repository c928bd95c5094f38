package statusline

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestTerminalRedrawsBelowLogs: a log line written while the progress line
// is shown clears it, is written on a line of its own, and the progress
// line is drawn again below it (the collision of issue 19:
// "…faults: noneINFO[…] fault applied…").
func TestTerminalRedrawsBelowLogs(t *testing.T) {
	var screen bytes.Buffer // stdout and stderr on one terminal
	term := NewTerminal(&screen)
	logs := term.Above(&screen)

	if _, err := logs.Write([]byte("before\n")); err != nil {
		t.Fatal(err)
	}
	if err := term.Show("[t=1s] faults: none"); err != nil {
		t.Fatal(err)
	}
	if _, err := logs.Write([]byte("INFO fault applied\n")); err != nil {
		t.Fatal(err)
	}
	if err := term.Show("[t=2s] faults: pause"); err != nil {
		t.Fatal(err)
	}
	term.Clear()
	if _, err := logs.Write([]byte("after\n")); err != nil {
		t.Fatal(err)
	}
	want := "before\n" +
		"\r\x1b[K[t=1s] faults: none" +
		"\r\x1b[KINFO fault applied\n[t=1s] faults: none" +
		"\r\x1b[K[t=2s] faults: pause" +
		"\r\x1b[K" +
		"after\n"
	if got := screen.String(); got != want {
		t.Fatalf("screen:\n%q\nwant\n%q", got, want)
	}
}

// TestPlainEveryInterval: off a terminal the line is passed on at most
// once per interval, and never with a carriage return.
func TestPlainEveryInterval(t *testing.T) {
	var got []string
	p := NewPlain(func(l string) { got = append(got, l) }, 5*time.Second)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p.now = func() time.Time { return now }
	for s := 1; s <= 12; s++ {
		now = now.Add(time.Second)
		if err := p.Show("t=" + time.Duration(s*int(time.Second)).String()); err != nil {
			t.Fatal(err)
		}
	}
	p.Clear()
	want := []string{"t=1s", "t=6s", "t=11s"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("lines %q, want %q", got, want)
	}
	for _, l := range got {
		if strings.ContainsAny(l, "\r\x1b") {
			t.Fatalf("plain line %q holds a carriage return or escape", l)
		}
	}
}
