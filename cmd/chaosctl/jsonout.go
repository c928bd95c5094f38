package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/targets/clusterctl"
)

// The JSON that --output json prints (docs/cli.md documents each shape)
// writes every duration one way, as result.json does: a Go duration
// string ("1.5s", "1m0s"); times are RFC 3339 in UTC.

// outputFlag is --output of run, validate, check, status, inject and heal.
func outputFlag() cli.Flag {
	return &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "`FORMAT` of the results on stdout: text or json (docs/cli.md documents the JSON)"}
}

// jsonOutput says whether the results are printed as JSON: --output json,
// or --json where the command keeps it. Any other --output is exit 2.
func jsonOutput(c *cli.Context) (bool, error) {
	switch o := c.String("output"); o {
	case "text", "":
		return c.Bool("json"), nil
	case "json":
		return true, nil
	default:
		return false, usageError(fmt.Errorf("--output %q: allowed are text, json", o))
	}
}

// jsonDuration is a duration in chaosctl's JSON output: "1.5s".
type jsonDuration time.Duration

func (d jsonDuration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"1.5s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	*d = jsonDuration(v)
	return err
}

// faultJSON is a live or ended fault as inject, heal and status print it:
// the control API's view with its durations as strings (the API's own
// remainingSeconds is left out: remaining says it).
type faultJSON struct {
	clusterctl.FaultView
	Delay            jsonDuration `json:"delay,omitempty"`
	Jitter           jsonDuration `json:"jitter,omitempty"`
	ResetTimeout     jsonDuration `json:"resetTimeout,omitempty"`
	Offset           jsonDuration `json:"offset,omitempty"`
	RemainingSeconds *struct{}    `json:"remainingSeconds,omitempty"`
}

func faultsJSON(vs []clusterctl.FaultView) []faultJSON {
	out := make([]faultJSON, 0, len(vs))
	for _, v := range vs {
		out = append(out, faultJSON{FaultView: v, Delay: jsonDuration(v.Delay), Jitter: jsonDuration(v.Jitter),
			ResetTimeout: jsonDuration(v.ResetTimeout), Offset: jsonDuration(v.Offset)})
	}
	return out
}

// statusJSON is `status --output json`.
type statusJSON struct {
	Name    string                    `json:"name"`
	Members []clusterctl.MemberStatus `json:"members"`
	Faults  []faultJSON               `json:"faults"`
	Ended   []faultJSON               `json:"ended"`
}

// faultsViewJSON is `heal --output json`.
type faultsViewJSON struct {
	Faults []faultJSON `json:"faults"`
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// runOutputJSON is `run --output json`: one entry per experiment that
// ran, in order, and the exit code of the whole command.
type runOutputJSON struct {
	Runs     []*runJSON `json:"runs"`
	ExitCode int        `json:"exitCode"`
}

// runJSON is one experiment's run, repeat or ramp; its folder holds the
// whole result (result.json, docs/result-json.md).
type runJSON struct {
	File       string       `json:"file"`
	Experiment string       `json:"experiment"`
	Kind       string       `json:"kind"` // run, repeat or ramp
	Verdict    string       `json:"verdict"`
	Reason     string       `json:"reason"`
	Seed       int64        `json:"seed"`
	Runtime    string       `json:"runtime"`
	Started    time.Time    `json:"started"`
	Duration   jsonDuration `json:"duration"`
	Dir        string       `json:"dir"`
	Result     string       `json:"result"`
	ExitCode   int          `json:"exitCode"`
	Error      string       `json:"error,omitempty"`
}

func newRunJSON(kind, file, experiment string, h report.Header, dir string) *runJSON {
	return &runJSON{File: file, Experiment: experiment, Kind: kind, Verdict: h.Verdict, Reason: h.Reason, Seed: h.Seed,
		Runtime: h.Runtime, Started: h.Started.UTC(), Duration: jsonDuration(h.Ended.Sub(h.Started).Round(time.Millisecond)),
		Dir: dir, Result: filepath.Join(dir, "result.json"), ExitCode: verdictCode(h.Verdict)}
}
