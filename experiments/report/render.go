package report

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/chaosctl/chaosctl/internal/atomicfile"
)

// Report formats, as `chaosctl report DIR --format` names them.
const (
	FormatHTML     = "html"
	FormatMarkdown = "md"
	FormatJUnit    = "junit"
)

// Formats lists the report formats Render knows, in the order it writes
// them.
func Formats() []string { return []string{FormatHTML, FormatMarkdown, FormatJUnit} }

// FormatFile is the file a format is written to in the run folder.
func FormatFile(format string) (string, error) {
	switch format {
	case FormatHTML:
		return FileHTML, nil
	case FormatMarkdown:
		return FileMarkdown, nil
	case FormatJUnit:
		return FileJUnit, nil
	}
	return "", fmt.Errorf("unknown report format %q (valid: %s)", format, strings.Join(Formats(), ", "))
}

// Render re-renders a finished run from its output folder: it reads
// result.json, journal.ndjson and experiment.yaml from dir and writes
// report.html, summary.md and junit.xml there (all three when formats is
// empty). Each file is replaced whole.
func Render(dir string, formats ...string) error {
	if err := checkFormats(formats); err != nil {
		return err
	}
	run, err := LoadRun(dir)
	if err != nil {
		return err
	}
	return WriteReports(dir, run, formats...)
}

// WriteReports writes the reports of a run that is already in memory into
// dir (all formats when formats is empty).
func WriteReports(dir string, run *Run, formats ...string) error {
	if err := checkFormats(formats); err != nil {
		return err
	}
	if len(formats) == 0 {
		formats = Formats()
	}
	for _, f := range formats {
		var buf bytes.Buffer
		var err error
		switch f {
		case FormatHTML:
			err = WriteHTML(&buf, run)
		case FormatMarkdown:
			err = WriteMarkdown(&buf, run)
		case FormatJUnit:
			err = WriteJUnit(&buf, run.Result)
		}
		if err != nil {
			return err
		}
		name, _ := FormatFile(f)
		if err := writeFileAtomic(filepath.Join(dir, name), buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

func checkFormats(formats []string) error {
	for _, f := range formats {
		if _, err := FormatFile(f); err != nil {
			return err
		}
	}
	return nil
}

// writeFileAtomic writes a file through a temporary file in the same folder
// and a rename, so a reader never sees half a report.
func writeFileAtomic(path string, data []byte) error {
	return atomicfile.Write(path, data, 0o644)
}
