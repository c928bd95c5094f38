package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMarkdownGolden(t *testing.T) {
	tests := []struct {
		golden, dir string
		contains    []string
	}{
		{"summary-fail.md", fixtureFail, []string{
			"**Verdict: FAIL.**",
			"| availability | availability | 99% | 220 / 4000 | 550.0% | 5.50 | **FAIL** |",
			"| isolate-one | partition | n1, n2, n3 | t = 4.04 s (22:05:05.660 UTC) → t = 9.01 s (22:05:10.636 UTC) |",
			"t = 0 (end of warmup) at 22:05:01.623 UTC", "started 2026-11-26 22:04:59.464 UTC (t = -2.16 s)", "ended 22:05:26.933 UTC (t = 25.31 s)",
			"Times: t = seconds from the end of warmup (t = 0), where a fault's `at` in the experiment file counts from",
			"Seed `1`",
		}},
		{"summary-pass.md", fixturePass, []string{"**Verdict: PASS.**", "| kill-n2 | crash | n2 | t = 12.01 s (22:05:13.629 UTC) → t = 15.01 s (22:05:16.637 UTC) |"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteMarkdown(&buf, loadFixture(t, tt.dir)); err != nil {
				t.Fatal(err)
			}
			for _, want := range tt.contains {
				if !strings.Contains(buf.String(), want) {
					t.Errorf("summary.md lacks %q", want)
				}
			}
			checkGolden(t, tt.golden, buf.Bytes())
		})
	}
}

func TestMarkdownWithoutJournal(t *testing.T) {
	run := loadFixture(t, fixturePass)
	run.Timeline = Timeline{}
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, run); err != nil {
		t.Fatal(err)
	}
	// Without seconds to anchor them, windows are offsets from the run start.
	for _, want := range []string{"offsets from the run start", "| isolate-one | partition | n1, n2, n3 | +6.197s from the run start (22:05:05.660 UTC) → +11.172s from the run start (22:05:10.636 UTC) | 4.976s |"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestMarkdownEscaping(t *testing.T) {
	tests := []struct{ in, cell string }{
		{"a | b", `a \| b`},
		{"<script>alert(1)</script>", "&lt;script>alert(1)&lt;/script>"},
		{"<= 1%", "<= 1%"},
		{"line one\nline two", "line one line two"},
		{"&amp; stays text", "&amp;amp; stays text"},
		{"a & b", "a & b"},
	}
	for _, tt := range tests {
		if got := mdCell(tt.in); got != tt.cell {
			t.Errorf("mdCell(%q) = %q, want %q", tt.in, got, tt.cell)
		}
	}
}

func TestAppendGitHubStepSummary(t *testing.T) {
	t.Run("unset", func(t *testing.T) {
		t.Setenv(GitHubStepSummaryEnv, "")
		path, err := AppendGitHubStepSummary([]byte("# x\n"))
		if err != nil || path != "" {
			t.Fatalf("with the variable unset: path %q, err %v; want nothing written", path, err)
		}
	})
	t.Run("appends", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "step-summary.md")
		if err := os.WriteFile(path, []byte("earlier step\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Setenv(GitHubStepSummaryEnv, path)
		for _, md := range []string{"## run one\n", "## run two\n"} {
			got, err := AppendGitHubStepSummary([]byte(md))
			if err != nil || got != path {
				t.Fatalf("append: path %q, err %v", got, err)
			}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if want := "earlier step\n\n## run one\n\n## run two\n"; string(b) != want {
			t.Errorf("step summary = %q, want %q", b, want)
		}
	})
	t.Run("unwritable", func(t *testing.T) {
		t.Setenv(GitHubStepSummaryEnv, filepath.Join(t.TempDir(), "missing-dir", "summary.md"))
		if _, err := AppendGitHubStepSummary([]byte("x")); err == nil {
			t.Fatal("appending under a missing folder succeeded")
		}
	})
}

// The stop condition is placed at t with its UTC time, and its burn rate
// named with its window, once.
func TestMarkdownStopConditionAtT(t *testing.T) {
	run := loadFixture(t, fixtureFail)
	res := *run.Result
	res.StopCondition = &StopCondition{Reason: "SLO availability: burn rate (last 5s) 20.0 above abort.burnRate 14.4",
		At: res.MeasuredStart.Add(7500 * time.Millisecond), SLO: "availability", Burn: 20, Window: "last 5s"}
	run.Result = &res
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, run); err != nil {
		t.Fatal(err)
	}
	want := "**Stopped early:** SLO availability: burn rate (last 5s) 20.0 above abort.burnRate 14.4 at t = 7.5 s (22:05:09.123 UTC).\n"
	if !strings.Contains(buf.String(), want) {
		t.Errorf("summary.md lacks %q:\n%s", want, buf.String())
	}
	// An old result's stop condition without the window in its reason.
	res.StopCondition = &StopCondition{Reason: "maxDuration reached", At: res.MeasuredStart.Add(time.Second), SLO: "availability", Burn: 3}
	buf.Reset()
	if err := WriteMarkdown(&buf, run); err != nil {
		t.Fatal(err)
	}
	if want := "at t = 1 s (22:05:02.623 UTC) (SLO availability: burn rate (over abort.window) 3.0)"; !strings.Contains(buf.String(), want) {
		t.Errorf("summary.md lacks %q:\n%s", want, buf.String())
	}
}
