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

	"github.com/chaosctl/chaosctl/internal/crash"
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
	// Killed: it still ran when the wait was over (wedged, or stopped), so
	// it got SIGKILL (verified first to be the recorded chaosctl: same
	// boot, same pid and start time, still holding the ledger) and is gone;
	// its run is left to Recover. Kill says why it was not killed when it
	// was not.
	Killed bool   `json:"killed,omitempty"`
	Kill   string `json:"kill,omitempty"`
	// Spared: a run left running on purpose (HaltOptions.Spare), its faults
	// ended by the caller and the direct revert.
	Spared bool `json:"spared,omitempty"`
	// Plane says what the direct revert did on the run's fault plane.
	Plane string `json:"plane"`
	// Processes are the paused processes of its open pause faults, thawed.
	Processes []ProcessAction `json:"processes,omitempty"`
	Errors    []string        `json:"errors,omitempty"`

	// pidStart is the recorded chaosctl's start time (0: not recorded).
	pidStart uint64
	// planeErr is why the direct revert through the plane failed: an error
	// of the run unless its chaosctl is killed (an embedded plane dies with
	// it, and Recover removes the others').
	planeErr string
}

// HaltOptions tune Halt.
type HaltOptions struct {
	// Wait is how long to wait for the signalled chaosctl processes to
	// exit; those still running then are killed.
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
// so that it reverts the rest and ends as interrupted. It then waits up to
// opts.Wait for those chaosctl processes to exit, and sends SIGKILL to each
// that still runs (wedged or stopped: it cannot revert, and what lives in
// its own process, an embedded fault plane and its toxics, dies with it).
// Runs whose chaosctl is gone, killed ones included, are left to Recover,
// which the caller runs next: it ends their members and whatever else the
// ledger says they left.
//
// Halt acts only on what this state directory's ledgers name: a pid is
// signalled only when it is still the recorded chaosctl (same boot, same
// start time) and the ledger is locked (that chaosctl holds it); SIGKILL
// also needs the start time recorded. A ledger not private to the current
// user is refused, as Recover refuses it.
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
			killWedged(ctx, rh, opts.Wait, log)
		}
		if rh.planeErr != "" && !rh.Killed {
			rh.Errors = append([]string{rh.planeErr}, rh.Errors...)
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
	rh := &RunHalt{Run: run, Ledger: path, PID: start.PID, Spared: spare, pidStart: start.PIDStart}
	sum := summarise(recs)
	paused, planeURL := sum.paused, sum.planeURL
	sameBoot := start.BootID == "" || start.BootID == bootID()

	// Revert directly first: a chaosctl told to stop first would close an
	// embedded plane before its faults could be seen to end.
	rh.Plane, rh.planeErr = haltPlane(path, run, planeURL)
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
// enables them, with the run's plane token, and says what it did, and what
// failed ("" when nothing did).
func haltPlane(ledgerPath, run, url string) (did, failed string) {
	if url == "" {
		return "no fault plane recorded", ""
	}
	token, err := readPlaneToken(ledgerPath)
	if err != nil {
		return "not reverted: " + err.Error(), err.Error()
	}
	type result struct {
		toxics, enabled int
		err             error
	}
	done := make(chan result, 1)
	go func() {
		defer crash.Recover("the revert through the fault plane", func(p *crash.Panic) { done <- result{err: p} })
		t, e, err := faultplane.RevertRun(faultplane.NewClient(url, token), run)
		done <- result{t, e, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return fmt.Sprintf("removed %d toxics, enabled %d proxies on %s, then: %v", r.toxics, r.enabled, url, r.err),
				fmt.Sprintf("fault plane %s: %v", url, r.err)
		}
		return fmt.Sprintf("removed %d toxics and enabled %d proxies on %s", r.toxics, r.enabled, url), ""
	case <-time.After(haltPlaneWait):
		msg := fmt.Sprintf("the fault plane at %s did not answer within %s (a wedged chaosctl's embedded plane dies with it when it is killed; a container's reverts when its lease lapses)", url, haltPlaneWait)
		return msg, msg
	}
}

// killWedged sends SIGKILL to the chaosctl of rh, which still runs after
// the wait for it to act on SIGTERM, once it is verified to be that
// chaosctl (same start time as the ledger records, the ledger still
// locked), and waits until it is gone.
func killWedged(ctx context.Context, rh *RunHalt, wait time.Duration, log *logrus.Entry) {
	notKilled := func(why string) {
		rh.Kill = why
		rh.Errors = append(rh.Errors, fmt.Sprintf("its chaosctl (pid %d) still runs %s after SIGTERM, and was not killed: %s", rh.PID, wait, why))
	}
	st, err := readProc(rh.PID)
	switch {
	case err != nil:
		notKilled(err.Error())
		return
	case !st.running():
		rh.Exited = true
		return
	case rh.pidStart == 0:
		notKilled("the ledger records no start time for it, so the pid cannot be told to be still that chaosctl")
		return
	case st.start != rh.pidStart:
		notKilled(fmt.Sprintf("pid %d is no longer the run's chaosctl (its start time differs)", rh.PID))
		return
	}
	if locked, err := ledgerLocked(rh.Ledger); err != nil {
		notKilled(err.Error())
		return
	} else if !locked {
		// It closed its ledger: its run has ended, and it is on its way out.
		notKilled("it no longer holds the run's ledger (its run ended)")
		return
	}
	if err := syscall.Kill(rh.PID, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		notKilled("SIGKILL: " + err.Error())
		return
	}
	if err := waitGone(ctx, rh.PID, st.start); err != nil {
		notKilled(err.Error())
		return
	}
	// Its ledger is free once its last thread is gone: then Recover may
	// take the run.
	if err := waitUnlocked(ctx, rh.Ledger); err != nil {
		notKilled(err.Error())
		return
	}
	rh.Killed = true
	log.WithFields(logrus.Fields{"run": rh.Run, "pid": rh.PID}).Warn("the run's chaosctl did not exit after SIGTERM: killed")
}

// waitUnlocked polls until the ledger at path is no longer locked.
func waitUnlocked(ctx context.Context, path string) error {
	deadline := time.Now().Add(recoverKillWait)
	for {
		locked, err := ledgerLocked(path)
		if err != nil {
			return err
		}
		if !locked {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("its ledger is still locked %s after SIGKILL", recoverKillWait)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the ledger to be released: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// ledgerLocked says whether the ledger at path is locked (its chaosctl
// holds it).
func ledgerLocked(path string) (bool, error) {
	f, err := openPrivateLedger(path, os.O_RDONLY)
	if err != nil {
		return false, err
	}
	defer f.Close()
	switch err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); {
	case err == nil:
		return false, nil
	case errors.Is(err, syscall.EWOULDBLOCK):
		return true, nil
	default:
		return false, fmt.Errorf("lock ledger: %w", err)
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
		case rh.Killed:
			b.WriteString("  chaosctl: SIGTERM sent; still running after the wait (wedged or stopped), so SIGKILL sent (it was the recorded chaosctl: same pid and start time, holding the ledger); it is gone, with what lived in its process (an embedded fault plane and its toxics); recover ends the rest (below)\n")
		case rh.Signalled:
			fmt.Fprintf(&b, "  chaosctl: SIGTERM sent; still running, not killed: %s\n", rh.Kill)
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
