package runner

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/report"
)

// RedactLog returns log writing through red: for a caller of Run (a
// GameDay) that logs values of its own. Run redacts its own log itself.
func RedactLog(log *logrus.Entry, red *experiments.Redactor) *logrus.Entry {
	return redactedLog(log, red)
}

// RedactFolder rewrites the files of a run's output folder dir written
// since (its members' logs, above all) with every value red holds
// replaced: for `chaosctl recover`, after a chaosctl killed before its
// run's end, where Run would have done it.
func RedactFolder(dir string, since time.Time, red *experiments.Redactor) error {
	return redactFolder(dir, since, red)
}

// RedactError returns err with red applied to its text; errors.Is and As
// still see the original chain. Run's errors are redacted already.
func RedactError(err error, red *experiments.Redactor) error { return redactErr(err, red) }

// redactedLog returns log writing through red: its entries carry the same
// fields and go to the same output, formatter and hooks, every sensitive
// value replaced (logrus writes each entry in one Write).
func redactedLog(log *logrus.Entry, red *experiments.Redactor) *logrus.Entry {
	if red.Empty() {
		return log
	}
	l := log.Logger
	nl := &logrus.Logger{
		Out: red.Writer(l.Out), Hooks: l.Hooks, Formatter: l.Formatter,
		ReportCaller: l.ReportCaller, Level: l.GetLevel(), ExitFunc: l.ExitFunc,
	}
	return nl.WithFields(log.Data)
}

// redactResult returns res with every sensitive value replaced in its
// strings (errors, request class names, probe URLs...), through its JSON
// form: what result.json, the reports and the terminal show.
func redactResult(res *report.Result, red *experiments.Redactor) (*report.Result, error) {
	if red.Empty() {
		return res, nil
	}
	b, err := json.Marshal(res)
	if err != nil {
		return res, fmt.Errorf("redact the result: %w", err)
	}
	var out report.Result
	if err := json.Unmarshal(red.Bytes(b), &out); err != nil {
		return res, fmt.Errorf("redact the result: %w", err)
	}
	return &out, nil
}

// redactedError is an error whose text is redacted; errors.Is and As still
// see the original chain.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactErr returns err with its text redacted.
func redactErr(err error, red *experiments.Redactor) error {
	if err == nil || red.Empty() {
		return err
	}
	msg := err.Error()
	if red.String(msg) == msg {
		return err
	}
	return &redactedError{msg: red.String(msg), err: err}
}

// redactFolder rewrites the files of the run's output folder dir that hold
// a sensitive value with the value replaced: what the run's own writers did
// not redact as they wrote (the members' logs, which their processes
// write), and anything derived from what they did. Only what the run wrote
// is touched: regular files at the top of dir or under its members folder,
// modified since the run started (the folder may be one the user gave, with
// files of theirs). It returns every failure; the other files are still
// done.
func redactFolder(dir string, since time.Time, red *experiments.Redactor) error {
	if red.Empty() {
		return nil
	}
	members := filepath.Join(dir, "members")
	var errs []error
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		if d.IsDir() {
			if path != dir && path != members && !strings.HasPrefix(path, members+string(filepath.Separator)) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if info, err := d.Info(); err != nil || info.ModTime().Before(since) {
			return nil
		}
		if err := redactFile(path, red); err != nil {
			errs = append(errs, err)
		}
		return nil
	})
	return errors.Join(append(errs, err)...)
}

// redactFile rewrites path line by line with every sensitive value
// replaced, through a temporary file renamed over it; a file without one is
// left untouched.
func redactFile(path string, red *experiments.Redactor) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	// A first pass finds out whether anything needs replacing at all.
	if found, err := holdsSensitive(f, red); err != nil || !found {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".redact-*")
	if err != nil {
		return fmt.Errorf("redact %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	br, bw := bufio.NewReader(f), bufio.NewWriter(tmp)
	for {
		line, rerr := br.ReadString('\n')
		if _, err := bw.WriteString(red.String(line)); err != nil {
			tmp.Close()
			return fmt.Errorf("redact %s: %w", path, err)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			tmp.Close()
			return fmt.Errorf("redact %s: %w", path, rerr)
		}
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("redact %s: %w", path, err)
	}
	if err := tmp.Chmod(info.Mode().Perm()); err != nil {
		tmp.Close()
		return fmt.Errorf("redact %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("redact %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("redact %s: %w", path, err)
	}
	return nil
}

// holdsSensitive reads r line by line and reports whether a line holds a
// sensitive value.
func holdsSensitive(r io.Reader, red *experiments.Redactor) (bool, error) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if red.String(line) != line {
			return true, nil
		}
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
}
