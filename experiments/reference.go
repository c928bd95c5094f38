package experiments

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/chaosctl/chaosctl/docs"
)

// ReferenceRow is one field of a format reference (docs/format.md,
// docs/gameday.md): a row of a table headed
//
//	| field | type | default | allowed | description |
//
// whose first cell is the field's path in backticks. Default is "required"
// for a field every file (or every enclosing mapping) must give, starts
// with a backticked value when the decoder fills that value in, and is
// prose for a default computed from other fields or "—" for none.
type ReferenceRow struct {
	Path, Type, Default, Allowed, Description string
	Line                                      int // 1-based, in the Markdown file
}

// Required reports whether the row says the field must be given.
func (r ReferenceRow) Required() bool { return r.Default == "required" }

// DefaultLiteral returns the value a Default cell starts with, written as
// in a file (`5s` gives 5s), and whether it starts with one.
func (r ReferenceRow) DefaultLiteral() (string, bool) {
	m := leadingCode.FindStringSubmatch(r.Default)
	if m == nil {
		return "", false
	}
	return m[1], true
}

var (
	leadingCode   = regexp.MustCompile("^`([^`]+)`")
	pathCell      = regexp.MustCompile("^`([^`]+)`$")
	codeSpan      = regexp.MustCompile("`([^`]*)`")
	markdownLink  = regexp.MustCompile(`\[([^\]]+)\]\([^)]*\)`)
	referenceHead = []string{"field", "type", "default", "allowed", "description"}
)

// Reference is a parsed format reference.
type Reference struct {
	// Rows are the reference's own rows in file order.
	Rows []ReferenceRow
	// Problems are rows that could not be read (a first cell that is not
	// one backticked path, a wrong number of cells, a path given twice).
	Problems []string

	byPath map[string]ReferenceRow
	// borrow resolves paths the reference leaves to another one: a
	// GameDay's shared target and inline experiments are the experiment
	// format's.
	borrow func(path string) (ReferenceRow, bool)
}

// ParseReference reads the reference tables of a Markdown file.
func ParseReference(markdown string) *Reference {
	ref := &Reference{byPath: map[string]ReferenceRow{}}
	inTable := false
	for i, line := range strings.Split(markdown, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			inTable = false
			continue
		}
		cells := tableCells(line)
		switch {
		case equalFold(cells, referenceHead):
			inTable = true
			continue
		case !inTable || isSeparator(cells):
			continue
		}
		if len(cells) != len(referenceHead) {
			ref.Problems = append(ref.Problems, fmt.Sprintf("line %d: %d cells, want %d (%s)", i+1, len(cells), len(referenceHead), strings.Join(referenceHead, ", ")))
			continue
		}
		m := pathCell.FindStringSubmatch(cells[0])
		if m == nil {
			ref.Problems = append(ref.Problems, fmt.Sprintf("line %d: the first cell %q is not one path in backticks", i+1, cells[0]))
			continue
		}
		row := ReferenceRow{Path: m[1], Type: cells[1], Default: cells[2], Allowed: cells[3], Description: cells[4], Line: i + 1}
		if first, dup := ref.byPath[row.Path]; dup {
			ref.Problems = append(ref.Problems, fmt.Sprintf("line %d: %s is documented twice (first on line %d)", i+1, row.Path, first.Line))
			continue
		}
		ref.byPath[row.Path] = row
		ref.Rows = append(ref.Rows, row)
	}
	return ref
}

// Row returns the row documenting path: the reference's own, else the one
// it borrows.
func (r *Reference) Row(path string) (ReferenceRow, bool) {
	if row, ok := r.byPath[path]; ok {
		return row, true
	}
	if r.borrow != nil {
		return r.borrow(path)
	}
	return ReferenceRow{}, false
}

// tableCells splits a Markdown table row into its trimmed cells; \| is a
// pipe inside a cell.
func tableCells(line string) []string {
	line = strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|")
	line = strings.ReplaceAll(line, `\|`, "\x00")
	cells := strings.Split(line, "|")
	for i, c := range cells {
		cells[i] = strings.TrimSpace(strings.ReplaceAll(c, "\x00", "|"))
	}
	return cells
}

func equalFold(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(a[i], b[i]) {
			return false
		}
	}
	return true
}

func isSeparator(cells []string) bool {
	for _, c := range cells {
		if strings.Trim(c, ":- ") != "" {
			return false
		}
	}
	return true
}

// gameDayBorrowed are the GameDay fields documented by the experiment
// format: below each prefix, the path with the prefix replaced by as is the
// experiment field it is. The validator reads them the same way (the
// shared target, inline experiments and checkpoints become experiments).
var gameDayBorrowed = []struct{ prefix, as string }{
	{"target.", "target."},
	{"steps[].experiment.inline.", ""},
	{"steps[].checkpoint.probes[].", "steadyState.probes[]."},
}

// GameDayBorrowed returns the experiment field that GameDay path p is, when
// the experiment reference documents it.
func GameDayBorrowed(p string) (string, bool) {
	for _, b := range gameDayBorrowed {
		if rest, ok := strings.CutPrefix(p, b.prefix); ok {
			return b.as + rest, true
		}
	}
	return "", false
}

var (
	referencesOnce         sync.Once
	experimentRef, gameRef *Reference
)

// references parses the embedded references once.
func references() (experiment, gameday *Reference) {
	referencesOnce.Do(func() {
		experimentRef = ParseReference(docs.Format)
		gameRef = ParseReference(docs.GameDay)
		gameRef.borrow = func(p string) (ReferenceRow, bool) {
			if as, ok := GameDayBorrowed(p); ok {
				row, found := experimentRef.Row(as)
				return row, found
			}
			return ReferenceRow{}, false
		}
	})
	return experimentRef, gameRef
}

// ExperimentReference returns the experiment format reference
// (docs/format.md, embedded).
func ExperimentReference() *Reference { e, _ := references(); return e }

// GameDayReference returns the GameDay format reference (docs/gameday.md,
// embedded); Row also finds the fields it borrows from the experiment
// format (GameDayBorrowed).
func GameDayReference() *Reference { _, g := references(); return g }

// plainText turns a reference cell into the text of a schema description:
// links keep their text, code spans their content.
func plainText(cell string) string {
	cell = markdownLink.ReplaceAllString(cell, "$1")
	return codeSpan.ReplaceAllString(cell, "$1")
}
