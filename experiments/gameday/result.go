package gameday

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/internal/atomicfile"
	"github.com/chaosctl/chaosctl/targets"
)

// Files of a GameDay's output folder.
const (
	FileJSON     = "gameday.json"
	FileHTML     = "gameday.html"
	FileMarkdown = "gameday.md"
	// StepsDir holds one folder per experiment and checkpoint step:
	// steps/<nn>-<name>/ with that run's result.json, report.html, ...
	StepsDir = "steps"
)

// Step verdicts in gameday.json, besides report.Pass, report.Fail and
// report.Inconclusive.
const (
	// Skipped: a manual step run unattended (--yes).
	Skipped = "skipped"
	// Aborted: the operator aborted the GameDay at this manual step.
	Aborted = "aborted"
	// NotRun: the GameDay stopped before this step.
	NotRun = "not-run"
	// Interrupted: SIGINT/SIGTERM arrived during this step.
	Interrupted = "interrupted"
	// Error: the environment failed during the step (a revert, the
	// target); its reason says what.
	Error = "error"
)

// Result is gameday.json: the whole GameDay, every step with its
// wall-clock times, verdict and notes. Times are UTC. Fields are only ever
// added.
type Result struct {
	GameDay string `json:"gameday"`
	report.Header
	// Target describes the shared target ("demo cluster: 5 store nodes, ...").
	Target string `json:"target"`
	// Members are the shared target's members (direct addresses) and
	// ClientAddrs where the workload reaches it (through the fault plane).
	Members     []targets.Member `json:"members,omitempty"`
	ClientAddrs []string         `json:"clientAddrs,omitempty"`
	// Unattended: run with --yes, manual steps skipped.
	Unattended  bool         `json:"unattended"`
	Aborted     bool         `json:"aborted,omitempty"`
	Interrupted bool         `json:"interrupted,omitempty"`
	Steps       []StepResult `json:"steps"`
	Errors      []string     `json:"errors,omitempty"`
}

// StepResult is one step of the GameDay.
type StepResult struct {
	Index int    `json:"index"` // 1-based
	Name  string `json:"name"`
	Kind  string `json:"kind"` // manual | experiment | wait | checkpoint
	// Verdict is pass, fail, inconclusive, skipped, aborted, not-run,
	// interrupted or error. A confirmed manual step and a completed wait
	// pass.
	Verdict        string     `json:"verdict"`
	Reason         string     `json:"reason"`
	Started        *time.Time `json:"started"`
	Ended          *time.Time `json:"ended"`
	Instructions   string     `json:"instructions,omitempty"`
	Expect         string     `json:"expect,omitempty"`
	Wait           string     `json:"wait,omitempty"`
	ContinueOnFail bool       `json:"continueOnFail,omitempty"`
	Notes          []Note     `json:"notes,omitempty"`
	// KeysReset is how many workload keys were deleted before an
	// experiment with consistency checks (they judge from an empty store).
	KeysReset int `json:"keysReset,omitempty"`
	// Experiment summarises an experiment or checkpoint step's run.
	Experiment *ExperimentSummary `json:"experiment,omitempty"`
}

// Note is an operator's note on a step, with when it was taken.
type Note struct {
	Time time.Time `json:"time"`
	Text string    `json:"text"`
}

// ExperimentSummary is an experiment or checkpoint step's run: its verdict,
// its faults with their wall-clock times, its probe judgements and SLOs,
// and its own output folder (relative to the GameDay's).
type ExperimentSummary struct {
	Name string `json:"name"`
	// File is the experiment file of a path step ("" when inline).
	File string `json:"file,omitempty"`
	// TargetReplaced: the file's own target section was replaced by the
	// shared target.
	TargetReplaced bool                  `json:"targetReplaced,omitempty"`
	Seed           int64                 `json:"seed"`
	Verdict        string                `json:"verdict"`
	Reason         string                `json:"reason"`
	Dir            string                `json:"dir"`    // steps/<nn>-<name>
	Report         string                `json:"report"` // steps/<nn>-<name>/report.html
	Workload       report.WorkloadResult `json:"workload"`
	Faults         []report.FaultResult  `json:"faults"`
	Probes         []TimedProbe          `json:"probes"`
	SLOs           []report.SLOResult    `json:"slos"`
	Checks         []report.CheckResult  `json:"checks"`
	StopCondition  *report.StopCondition `json:"stopCondition,omitempty"`
	Errors         []string              `json:"errors,omitempty"`
}

// TimedProbe is a probe judgement with the wall-clock time its window
// closed: before → when the first fault was applied (or the end of a
// checkpoint), during → when the last fault was reverted, after → the end
// of the run.
type TimedProbe struct {
	report.ProbeResult
	At *time.Time `json:"at"`
}

// WriteJSON writes gameday.json into dir (atomically).
func (r *Result) WriteJSON(dir string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", FileJSON, err)
	}
	return writeFileAtomic(filepath.Join(dir, FileJSON), append(b, '\n'))
}

// ReadJSON reads gameday.json from dir.
func ReadJSON(dir string) (*Result, error) {
	return report.ReadJSONFile[Result](filepath.Join(dir, FileJSON))
}

func writeFileAtomic(path string, data []byte) error {
	return atomicfile.Write(path, data, 0o644)
}
