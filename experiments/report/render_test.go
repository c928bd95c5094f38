package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	tests := []struct {
		name    string
		formats []string
		want    []string
	}{
		{"all by default", nil, []string{FileHTML, FileMarkdown, FileJUnit}},
		{"html", []string{FormatHTML}, []string{FileHTML}},
		{"md and junit", []string{FormatMarkdown, FormatJUnit}, []string{FileMarkdown, FileJUnit}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyFixture(t, fixtureFail)
			if err := Render(dir, tt.formats...); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{FileHTML, FileMarkdown, FileJUnit} {
				_, err := os.Stat(filepath.Join(dir, name))
				wanted := strings.Contains(strings.Join(tt.want, " "), name)
				if wanted && err != nil {
					t.Errorf("%s not written: %v", name, err)
				}
				if !wanted && err == nil {
					t.Errorf("%s written though not asked for", name)
				}
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") {
					t.Errorf("temporary file %s left behind", e.Name())
				}
			}
		})
	}
}

// Render from the folder writes exactly what the in-memory writers write.
func TestRenderMatchesWriters(t *testing.T) {
	dir := copyFixture(t, fixturePass)
	if err := Render(dir); err != nil {
		t.Fatal(err)
	}
	run := loadFixture(t, fixturePass)
	for name, write := range map[string]func(*bytes.Buffer) error{
		FileMarkdown: func(b *bytes.Buffer) error { return WriteMarkdown(b, run) },
		FileJUnit:    func(b *bytes.Buffer) error { return WriteJUnit(b, run.Result) },
		FileHTML:     func(b *bytes.Buffer) error { return WriteHTML(b, run) },
	} {
		var want bytes.Buffer
		if err := write(&want); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s from Render differs from the writer's output", name)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	t.Run("unknown format", func(t *testing.T) {
		err := Render(copyFixture(t, fixturePass), "pdf")
		if err == nil || !strings.Contains(err.Error(), `"pdf"`) || !strings.Contains(err.Error(), "html, md, junit") {
			t.Fatalf("err = %v, want one naming pdf and the valid formats", err)
		}
	})
	t.Run("no result.json", func(t *testing.T) {
		if err := Render(t.TempDir()); err == nil || !strings.Contains(err.Error(), "result.json") {
			t.Fatalf("err = %v, want one naming result.json", err)
		}
	})
	t.Run("no journal", func(t *testing.T) {
		dir := copyFixture(t, fixturePass)
		if err := os.Remove(filepath.Join(dir, FileJournal)); err != nil {
			t.Fatal(err)
		}
		if err := Render(dir); err != nil {
			t.Fatalf("a folder without a journal must still render: %v", err)
		}
		b, _ := os.ReadFile(filepath.Join(dir, FileHTML))
		if !strings.Contains(string(b), "nothing to draw over time") {
			t.Error("report.html does not say there is no data over time")
		}
	})
}
