package injectors

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets/faultplane"
)

// HaltReport says what Halt did to the live runs of a state directory.
type HaltReport struct {
	StateDir string    `json:"stateDir"`
	Runs     []RunHalt `json:"runs"`
	// Refused are ledgers that were not read nor acted on: they are not
	// private to the current user.
	Refused []RefusedLedger `json:"refused,omitempty"`
}

// RunHalt is what Halt did to one live run.
type RunHalt struct {
	Run    string `json:"run"`
	Ledger string `json:"ledger"`
	PID    int    `json:"pid,omitempty"`
	// Signalled: the run's chaosctl got SIGTERM (it reverts every fault and
	// exits 3); Exited: it was gone within the wait.
	Signalled bool `json:"signalled"`
	Exited    bool `json:"exited"`
	// Spared: a run left running on purpose (HaltOptions.Spare), its faults
	// ended by the caller and the direct revert.
	Spared bool `json:"spared,omitempty"`
	// Plane says what the direct revert did on the run's fault plane.
	Plane string `json:"plane"`
	// Processes are the paused processes of its open pause faults, thawed.
	Processes []ProcessAction `json:"processes,omitempty"`
	Errors    []string        `json:"errors,omitempty"`
}

// HaltOptions tune Halt.
type HaltOptions struct {
	// Wait is how long to wait for the signalled chaosctl processes to exit.
	Wait time.Duration
	// Spare holds the ledger paths of runs not to signal.
	Spare map[string]bool
}

// haltPlaneWait bounds the direct revert through one plane: an embedded
// plane of a wedged (or stopped) chaosctl does not answer.
const haltPlaneWait = 5 * time.Second

// Halt is the kill switch: it ends every live fault of every unfinished run
// whose ledger is in stateDir and whose chaosctl still runs, at once. For
// each, it reverts directly (removes every toxic of the run's proxies and
// enables them, through the plane's API with the run's plane token; thaws
// the processes of its open pause faults), then sends its chaosctl SIGTERM,
// so the faults end even if that chaosctl is wedged, and the run reverts
// and ends as interrupted. It then waits up to wait for those chaosctl
// processes to exit. Runs whose chaosctl is gone are left to Recover.
//
// Halt acts only on what this state directory's ledgers name: a pid is
// signalled only when it is still the recorded chaosctl (same boot, same
// start time) and the ledger is locked (that chaosctl holds it). A ledger
// not private to the current user is refused, as Recover refuses it.
//
// A run whose ledger is in opts.Spare gets the direct revert but no signal:
// a `chaosctl cluster up`, whose faults the caller heals through its control
// API, so that halting its faults does not take the cluster down.
func Halt(ctx context.Context, stateDir string, opts HaltOptions, log *logrus.Entry) (*HaltReport, error) {
	rep := &HaltReport{StateDir: stateDir, Runs: []RunHalt{}}
	paths, err := filepath.Glob(filepath.Join(LedgerDir(stateDir), "*.ndjson"))
	if err != nil {
		return rep, fmt.Errorf("halt: list ledgers: %w", err)
	}
	slices.Sort(paths)
	var errs []error
	for _, path := range paths {
		rh, err := haltRun(path, opts.Spare[path], log)
		var untrusted *UntrustedLedgerError
		switch {
		case errors.As(err, &untrusted):
			rep.Refused = append(rep.Refused, RefusedLedger{Run: runOfLedger(path), Ledger: path, Reason: untrusted.Error()})
			errs = append(errs, fmt.Errorf("halt: %w", err))
		case err != nil:
			errs = append(errs, fmt.Errorf("halt %s: %w", path, err))
		case rh != nil:
			rep.Runs = append(rep.Runs, *rh)
		}
	}
	waitExits(ctx, rep.Runs, opts.Wait)
	for i := range rep.Runs {
		rh := &rep.Runs[i]
		if rh.Signalled && !rh.Exited {
			rh.Errors = append(rh.Errors, fmt.Sprintf("its chaosctl (pid %d) still runs %s after SIGTERM", rh.PID, opts.Wait))
		}
		if len(rh.Errors) > 0 {
			errs = append(errs, fmt.Errorf("halt run %s: %s", rh.Run, strings.Join(rh.Errors, "; ")))
		}
	}
	return rep, errors.Join(errs...)
}

// haltRun halts the run of one ledger when its chaosctl still runs; it
// returns nil for a finished run or one whose chaosctl is gone.
func haltRun(path string, spare bool, log *logrus.Entry) (*RunHalt, error) {
	f, err := openPrivateLedger(path, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	recs, _ := ParseLedger(b)
	var start Record
	for _, r := range recs {
		if r.Type == RecordRunStart && start.Type == "" {
			start = r
		}
		if r.Type == RecordRunEnd && r.Outcome != OutcomeRevertFailed {
			return nil, nil
		}
	}
	// A live chaosctl holds the ledger's exclusive lock: a shared one is
	// refused then. Got, it is released when f closes: the run is Recover's.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err == nil {
		return nil, nil
	} else if !errors.Is(err, syscall.EWOULDBLOCK) {
		return nil, fmt.Errorf("lock ledger: %w", err)
	}
	run := runOfLedger(path)
	log = log.WithFields(logrus.Fields{"component": "halt", "run": run})
	rh := &RunHalt{Run: run, Ledger: path, PID: start.PID, Spared: spare}
	sum := summarise(recs)
	paused, planeURL := sum.paused, sum.planeURL
	sameBoot := start.BootID == "" || start.BootID == bootID()

	// Revert directly first: a chaosctl told to stop first would close an
	// embedded plane before its faults could be seen to end.
	rh.Plane = haltPlane(path, run, planeURL, &rh.Errors)
	for _, p := range paused {
		act := resumeProcess(p, sameBoot)
		rh.Processes = append(rh.Processes, act)
		if act.Action == ActionFailed {
			rh.Errors = append(rh.Errors, fmt.Sprintf("resume %s (pid %d): %s", p.ID, p.PID, act.Detail))
		}
	}

	st, err := readProc(start.PID)
	switch {
	case spare:
	case !sameBoot || start.PID <= 0 || err != nil || !st.running():
		// The lock is held by another (a recover at work): nothing to signal.
	case start.PIDStart != 0 && st.start != start.PIDStart:
		rh.Errors = append(rh.Errors, fmt.Sprintf("pid %d is no longer the run's chaosctl: not signalled", start.PID))
	default:
		if err := syscall.Kill(start.PID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			rh.Errors = append(rh.Errors, fmt.Sprintf("SIGTERM pid %d: %v", start.PID, err))
		} else {
			rh.Signalled = true
		}
	}
	log.WithFields(logrus.Fields{"pid": start.PID, "signalled": rh.Signalled, "plane": rh.Plane}).Warn("run halted")
	return rh, nil
}

// haltPlane removes every toxic of run's proxies on the plane at url and
// enables them, with the run's plane token, and says what it did.
func haltPlane(ledgerPath, run, url string, errs *[]string) string {
	if url == "" {
		return "no fault plane recorded"
	}
	token, err := readPlaneToken(ledgerPath)
	if err != nil {
		*errs = append(*errs, err.Error())
		return "not reverted: " + err.Error()
	}
	type result struct {
		toxics, enabled int
		err             error
	}
	done := make(chan result, 1)
	go func() {
		t, e, err := faultplane.RevertRun(faultplane.NewClient(url, token), run)
		done <- result{t, e, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			*errs = append(*errs, fmt.Sprintf("fault plane %s: %v", url, r.err))
			return fmt.Sprintf("removed %d toxics, enabled %d proxies on %s, then: %v", r.toxics, r.enabled, url, r.err)
		}
		return fmt.Sprintf("removed %d toxics and enabled %d proxies on %s", r.toxics, r.enabled, url)
	case <-time.After(haltPlaneWait):
		msg := fmt.Sprintf("the fault plane at %s did not answer within %s (a wedged chaosctl's embedded plane dies with it; a container's reverts when its lease lapses)", url, haltPlaneWait)
		*errs = append(*errs, msg)
		return msg
	}
}

// waitExits polls until every signalled run's chaosctl is gone, or wait
// passes, and marks those that exited.
func waitExits(ctx context.Context, runs []RunHalt, wait time.Duration) {
	deadline := time.Now().Add(wait)
	for {
		pending := 0
		for i := range runs {
			rh := &runs[i]
			if !rh.Signalled || rh.Exited {
				continue
			}
			if st, err := readProc(rh.PID); err == nil && !st.running() {
				rh.Exited = true
				continue
			}
			pending++
		}
		if pending == 0 || time.Now().After(deadline) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// String is the report as halt prints it.
func (r *HaltReport) String() string {
	var b strings.Builder
	if len(r.Runs) == 0 {
		fmt.Fprintf(&b, "no live run in %s\n", r.StateDir)
	}
	for _, rh := range r.Runs {
		fmt.Fprintf(&b, "run %s (chaosctl pid %d)\n", rh.Run, rh.PID)
		fmt.Fprintf(&b, "  fault plane: %s\n", rh.Plane)
		for _, p := range rh.Processes {
			fmt.Fprintf(&b, "  process %s (pid %d): %s%s\n", p.ID, p.PID, p.Action, detail(p.Detail))
		}
		switch {
		case rh.Spared:
			b.WriteString("  chaosctl: left running (a cluster: its faults were healed through its control API)\n")
		case rh.Signalled && rh.Exited:
			b.WriteString("  chaosctl: SIGTERM sent; it reverted and exited\n")
		case rh.Signalled:
			b.WriteString("  chaosctl: SIGTERM sent; still running\n")
		default:
			b.WriteString("  chaosctl: not signalled\n")
		}
		for _, e := range rh.Errors {
			fmt.Fprintf(&b, "  error: %s\n", e)
		}
	}
	for _, x := range r.Refused {
		fmt.Fprintf(&b, "refused %s: %s\n", x.Ledger, x.Reason)
	}
	return b.String()
}

func detail(d string) string {
	if d == "" {
		return ""
	}
	return " (" + d + ")"
}
