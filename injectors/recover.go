package injectors

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/faultplane"
)

// Process actions of a recovery.
const (
	ActionKilled   = "killed"       // thawed (SIGCONT), then SIGKILL
	ActionGone     = "already gone" // nothing to do
	ActionResumed  = "resumed"      // a paused process chaosctl did not start was thawed
	ActionLeftOver = "left alone"   // the pid is no longer the recorded process
	ActionFailed   = "failed"
)

// RecoveryReport says what Recover found and did.
type RecoveryReport struct {
	StateDir string `json:"stateDir"`
	// Runs are the runs chaosctl left behind, each with what was done.
	Runs []RunRecovery `json:"runs"`
	// Live are unfinished runs that were left alone: their chaosctl still runs.
	Live []LiveRun `json:"live,omitempty"`
	// Refused are ledgers that were not read nor acted on: they are not
	// private to the current user (see UntrustedLedgerError).
	Refused []RefusedLedger `json:"refused,omitempty"`
}

// RefusedLedger is a ledger Recover refused to act on.
type RefusedLedger struct {
	Run    string `json:"run"`
	Ledger string `json:"ledger"`
	Reason string `json:"reason"`
}

// LiveRun is an unfinished run whose chaosctl still runs.
type LiveRun struct {
	Run    string `json:"run"`
	PID    int    `json:"pid,omitempty"`
	Ledger string `json:"ledger"`
	Reason string `json:"reason"`
}

// RunRecovery is what Recover did for one run.
type RunRecovery struct {
	Run     string    `json:"run"`
	Ledger  string    `json:"ledger"`
	PID     int       `json:"pid,omitempty"` // the chaosctl that is gone
	Started time.Time `json:"started,omitzero"`
	Runtime string    `json:"runtime,omitempty"`
	// SkippedLines counts the ledger lines that held no record (torn by a
	// crash mid-write, or damaged): they were skipped, the records around
	// them used.
	SkippedLines int `json:"skippedLines,omitempty"`
	// OpenFaults were applied (or about to be) and never reverted.
	OpenFaults []string `json:"openFaults,omitempty"`
	// Rollbacks are the actions' rollbacks that were pending, as run now.
	Rollbacks []RollbackAction `json:"rollbacks,omitempty"`
	Processes []ProcessAction  `json:"processes,omitempty"`
	// Containers says what was undone on users' containers (only those the
	// ledger records, only what chaosctl did to them).
	Containers []ContainerAction `json:"containers,omitempty"`
	// Proxies says what happened to the run's toxiproxy proxies (deleting a
	// proxy removes its toxics, so every link fault goes with it).
	Proxies string `json:"proxies"`
	// Dir and DirAction: the run directory and what happened to it.
	Dir       string `json:"dir,omitempty"`
	DirAction string `json:"dirAction,omitempty"`
	// Logs says what RecoverOptions.RedactLogs did to the members' logs.
	Logs string `json:"logs,omitempty"`
	// Done: every step succeeded and a run-end record was appended, so the
	// next Recover leaves the run alone. Otherwise Errors say what failed,
	// and the next Recover tries again.
	Done   bool     `json:"done"`
	Errors []string `json:"errors,omitempty"`
}

// ProcessAction is what happened to one recorded process.
type ProcessAction struct {
	ID     string `json:"id"`
	PID    int    `json:"pid"`
	Action string `json:"action"`
	Detail string `json:"detail,omitempty"`
}

// RollbackAction is a pending rollback that Recover ran.
type RollbackAction struct {
	Action string `json:"action"` // the action it rolls back
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// ContainerAction is what happened to one user's container.
type ContainerAction struct {
	ID        string               `json:"id"` // the member
	Container targets.ContainerRef `json:"container"`
	Action    string               `json:"action"`
	Error     string               `json:"error,omitempty"`
}

// ContainerUndo is what a killed chaosctl may have left undone on a user's
// container, as its ledger tells.
type ContainerUndo struct {
	// Unpause: a pause fault on it was never reverted.
	Unpause bool
	// StoppedSince, when not zero, is when a crash or restart fault on it
	// that was never reverted began: a container that stopped since was
	// stopped by chaosctl, and is started again. One that stopped before
	// is its owner's business.
	StoppedSince time.Time
}

// ContainerEngine undoes faults on users' containers for Recover (the Docker
// engine, in targets/runtimes).
type ContainerEngine interface {
	// RecoverContainer undoes on container c what undo says chaosctl did
	// (unpause a paused container, start a stopped one) and says what it
	// did ("unpaused", "started", "already gone", "nothing to undo").
	RecoverContainer(ctx context.Context, c targets.ContainerRef, undo ContainerUndo) (string, error)
}

// RecoverOptions configure RecoverWith.
type RecoverOptions struct {
	// Containers undoes faults on users' containers; nil leaves a run
	// with a container to undo unrecovered, with an error saying so.
	Containers ContainerEngine
	// RedactLogs, when set, is called for each run once its members are
	// ended (nothing writes their logs any more), before its folder is
	// removed: it replaces the sensitive values in what they wrote, which
	// a killed chaosctl could not, and says what it did (RunRecovery.Logs).
	// It cannot fail the recovery: the faults are undone either way.
	RedactLogs func(rr *RunRecovery) string
	// ResolveRollback, when set, gives the rollback of action to run in
	// place of recorded, the ledger's copy, whose sensitive values are
	// redacted; and a redactor of what running it shows (nil: none).
	ResolveRollback func(rr *RunRecovery, action string, recorded Step) (Step, func(string) string)
}

// Timeouts of a recovery.
const (
	recoverKillWait  = 5 * time.Second // for a killed process to be gone
	recoverPlanePing = 2 * time.Second // for the toxiproxy API to answer
)

// Recover finishes the runs that a killed chaosctl left behind: runs whose
// ledger in stateDir has no end record and whose chaosctl process is gone
// (its ledger lock is free and its pid is dead or reused). For each it thaws
// and kills the member processes still alive (each verified to be that
// member: same start time, a `node --config` command line with the member's
// id, its data or log in the run directory; another process that reused the
// pid is never touched), thaws paused processes it did not start, deletes the
// run's proxies on a still reachable toxiproxy server, removes the run
// directory when chaosctl created it as a temporary one (see removeRunDir),
// and appends a run-end record with outcome "recovered". It is idempotent: a
// second call finds nothing to do.
//
// A ledger not private to the current user (owned by another, or with any
// group or other permission) is refused: it is listed in the report's
// Refused and err holds its *UntrustedLedgerError. Lines of a ledger that
// hold no record are skipped with a warning, and counted in SkippedLines.
//
// The report is complete even when err is not nil; err joins every run that
// could not be fully recovered (the next call retries those).
func Recover(ctx context.Context, stateDir string, log *logrus.Entry) (*RecoveryReport, error) {
	return RecoverWith(ctx, stateDir, log, RecoverOptions{})
}

// RecoverWith is Recover that also finishes users' members: the process
// group of every command member chaosctl started (endGroup: thawed and
// killed, the group verified by its leader's start time or its processes'
// cookie, and every process bearing the cookie), and on every container
// member the ledger records, what an unreverted fault did to it through
// o.Containers: unpaused when a pause was left, started when a crash or
// restart was left and it stopped since. A container the ledger does not
// record is never touched.
func RecoverWith(ctx context.Context, stateDir string, log *logrus.Entry, o RecoverOptions) (*RecoveryReport, error) {
	rep := &RecoveryReport{StateDir: stateDir, Runs: []RunRecovery{}}
	paths, err := filepath.Glob(filepath.Join(LedgerDir(stateDir), "*.ndjson"))
	if err != nil {
		return rep, fmt.Errorf("recover: list ledgers: %w", err)
	}
	slices.Sort(paths)
	var errs []error
	for _, path := range paths {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("recover: %w", err))
			break
		}
		rr, live, err := recoverRun(ctx, path, log, o)
		var untrusted *UntrustedLedgerError
		switch {
		case errors.As(err, &untrusted):
			rep.Refused = append(rep.Refused, RefusedLedger{Run: runOfLedger(path), Ledger: path, Reason: untrusted.Error()})
			log.WithField("ledger", path).Warn(untrusted.Error())
			errs = append(errs, fmt.Errorf("recover: %w", err))
		case err != nil:
			errs = append(errs, fmt.Errorf("recover %s: %w", path, err))
		case live != nil:
			rep.Live = append(rep.Live, *live)
		case rr != nil:
			rep.Runs = append(rep.Runs, *rr)
			if !rr.Done {
				errs = append(errs, fmt.Errorf("recover run %s: %s", rr.Run, strings.Join(rr.Errors, "; ")))
			}
		}
	}
	return rep, errors.Join(errs...)
}

// recoverRun recovers the run of one ledger. It returns nil, nil, nil for a
// finished run.
func recoverRun(ctx context.Context, path string, log *logrus.Entry, o RecoverOptions) (*RunRecovery, *LiveRun, error) {
	f, err := openPrivateLedger(path, os.O_RDWR|os.O_APPEND)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close() // releases the lock
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, err
	}
	recs, _ := ParseLedger(b)
	run := runOfLedger(path)
	var start Record
	for _, r := range recs {
		if r.Type == RecordRunStart {
			start = r
			break
		}
	}
	for _, r := range recs {
		if r.Type == RecordRunEnd && r.Outcome != OutcomeRevertFailed {
			return nil, nil, nil
		}
	}
	// The run's chaosctl holds an exclusive lock for as long as it runs.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &LiveRun{Run: run, PID: start.PID, Ledger: path,
				Reason: "the ledger is locked: its chaosctl still runs (or another recover is at it)"}, nil
		}
		return nil, nil, fmt.Errorf("lock ledger: %w", err)
	}
	// Re-read under the lock: the run may have ended meanwhile.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, nil, err
	}
	if b, err = io.ReadAll(f); err != nil {
		return nil, nil, err
	}
	recs, skipped := ParseLedger(b)
	for _, r := range recs {
		if r.Type == RecordRunEnd && r.Outcome != OutcomeRevertFailed {
			return nil, nil, nil
		}
	}
	sameBoot := start.BootID == "" || start.BootID == bootID()
	if sameBoot && start.PID > 0 {
		st, err := readProc(start.PID)
		if err == nil && st.running() && (start.PIDStart == 0 || st.start == start.PIDStart) {
			return nil, &LiveRun{Run: run, PID: start.PID, Ledger: path,
				Reason: fmt.Sprintf("its chaosctl (pid %d) still runs, though it does not hold the ledger", start.PID)}, nil
		}
	}

	rr := &RunRecovery{Run: run, Ledger: path, PID: start.PID, Started: start.Time, Runtime: start.Runtime, Dir: start.Dir, SkippedLines: len(skipped)}
	log = log.WithFields(logrus.Fields{"component": "recover", "run": run})
	warnSkipped(log, path, skipped)
	sum := summarise(recs)
	rr.OpenFaults = sum.open
	var errs []string

	// The actions' pending rollbacks first, newest first, while the
	// members still run (as a run's own end does).
	torn := len(b) > 0 && b[len(b)-1] != '\n' // a torn last line must not swallow a record
	for _, p := range pendingRollbacks(recs) {
		step, redact := p.step, func(s string) string { return s }
		if o.ResolveRollback != nil {
			var red func(string) string
			if step, red = o.ResolveRollback(rr, p.action, p.step); red != nil {
				redact = red
			}
		}
		res := RunStep(ctx, step)
		act := RollbackAction{Action: p.action, OK: res.OK, Detail: redact(res.Reason)}
		rec := Record{Type: RecordRollbackDone, ActionName: p.action}
		if !res.OK {
			rec = Record{Type: RecordRollbackFailed, ActionName: p.action, Error: act.Detail}
			errs = append(errs, fmt.Sprintf("rollback of action %s: %s", p.action, act.Detail))
		}
		if err := appendRecord(f, run, rec, torn); err != nil {
			errs = append(errs, err.Error())
		} else {
			torn = false
		}
		rr.Rollbacks = append(rr.Rollbacks, act)
		log.WithFields(logrus.Fields{"action": p.action, "ok": res.OK}).Info("rollback run: " + act.Detail)
	}

	memberPIDs := map[int]bool{}
	for _, m := range sum.members {
		memberPIDs[m.PID] = true
		var act ProcessAction
		if m.PGID > 0 {
			act = endGroup(ctx, m, sameBoot)
		} else {
			act = killMember(ctx, m, start.Dir, sameBoot)
		}
		rr.Processes = append(rr.Processes, act)
		if act.Action == ActionFailed {
			errs = append(errs, fmt.Sprintf("member %s (pid %d): %s", m.ID, m.PID, act.Detail))
		}
	}
	for _, c := range sum.containers {
		act := recoverContainer(ctx, c, o.Containers)
		rr.Containers = append(rr.Containers, act)
		if act.Error != "" {
			errs = append(errs, fmt.Sprintf("member %s (container %s): %s", c.member, c.ref.ID, act.Error))
		}
	}
	for _, p := range sum.paused {
		if memberPIDs[p.PID] {
			continue
		}
		act := resumeProcess(p, sameBoot)
		rr.Processes = append(rr.Processes, act)
		if act.Action == ActionFailed {
			errs = append(errs, fmt.Sprintf("resume %s (pid %d): %s", p.ID, p.PID, act.Detail))
		}
	}

	if o.RedactLogs != nil && rr.Dir != "" {
		rr.Logs = o.RedactLogs(rr)
	}

	proxies, err := cleanupPlane(ctx, run, sum.planeURL, sum.planeEmbedded, start.Runtime, path)
	rr.Proxies = proxies
	if err != nil {
		errs = append(errs, err.Error())
	}

	rr.DirAction, err = removeRunDir(start, log)
	if err != nil {
		errs = append(errs, err.Error())
	}

	if len(errs) == 0 {
		if err := appendRecord(f, run, Record{Type: RecordRunEnd, Outcome: OutcomeRecovered}, torn); err != nil {
			errs = append(errs, err.Error())
		} else {
			rr.Done = true
		}
	} else if err := appendRecord(f, run, Record{Type: RecordRecoveryFailed, Error: strings.Join(errs, "; ")}, torn); err != nil {
		errs = append(errs, err.Error())
	}
	rr.Errors = errs
	log.WithFields(logrus.Fields{"done": rr.Done, "openFaults": rr.OpenFaults}).Info("run recovered")
	return rr, nil, nil
}

// runOfLedger is the run id of the ledger file at path.
func runOfLedger(path string) string {
	return strings.TrimSuffix(filepath.Base(path), ".ndjson")
}

// warnSkipped warns of the lines of the ledger at path that held no record.
func warnSkipped(log *logrus.Entry, path string, skipped []SkippedLine) {
	if len(skipped) == 0 {
		return
	}
	lines := make([]int, 0, min(len(skipped), maxWarnedLines))
	for _, s := range skipped[:cap(lines)] {
		lines = append(lines, s.Line)
	}
	log.WithFields(logrus.Fields{"ledger": path, "skipped": len(skipped), "lines": lines}).
		Warnf("skipped %d ledger lines that hold no record (torn by a crash mid-write, or damaged); line %d: %s",
			len(skipped), skipped[0].Line, skipped[0].Reason)
}

// maxWarnedLines bounds the line numbers a warning of skipped lines lists.
const maxWarnedLines = 20

// runSummary is what a run's records say recovery has to do.
type runSummary struct {
	members []ProcessRef // member processes chaosctl started, each pid once
	// paused are the processes of pause faults never reverted.
	paused []ProcessRef
	// containers are the recorded containers an unreverted fault acted on.
	containers []containerUndo
	open       []string // the faults never reverted
	// planeURL is the last toxiproxy API recorded.
	planeURL      string
	planeEmbedded bool
}

// containerUndo is what to undo on one recorded container.
type containerUndo struct {
	member string
	ref    targets.ContainerRef
	undo   ContainerUndo
}

// summarise reads a run's records.
func summarise(recs []Record) runSummary {
	var sum runSummary
	seenPID := map[int]bool{}
	containers := map[string]targets.ContainerRef{}
	state := map[string]RecordType{}
	var order []string
	intents := map[string]Record{}
	for _, r := range recs {
		switch r.Type {
		case RecordRunStart, RecordPlane:
			if r.PlaneURL != "" {
				sum.planeURL, sum.planeEmbedded = r.PlaneURL, r.PlaneEmbedded
			}
		case RecordMember:
			if r.Member != nil && r.Container != nil && r.Container.ID != "" {
				containers[r.Member.ID] = *r.Container
			}
			if r.Member != nil && r.Member.PID > 0 && !seenPID[r.Member.PID] {
				seenPID[r.Member.PID] = true
				sum.members = append(sum.members, *r.Member)
			}
		case RecordFaultIntent:
			// A command member chaosctl started (it has a group) is
			// finished as one even if its member record was lost.
			for _, p := range r.Processes {
				if p.PGID > 0 && p.PID > 0 && !seenPID[p.PID] {
					seenPID[p.PID] = true
					sum.members = append(sum.members, p)
				}
			}
			if _, ok := state[r.FaultName]; !ok {
				order = append(order, r.FaultName)
			}
			intents[r.FaultName] = r
			state[r.FaultName] = r.Type
		case RecordFaultApplied, RecordFaultFailed, RecordFaultReverted, RecordFaultRevertFailed:
			state[r.FaultName] = r.Type
		}
	}
	undo := map[string]*ContainerUndo{}
	var undoOrder []string
	for _, name := range order {
		switch state[name] {
		case RecordFaultFailed, RecordFaultReverted:
			continue
		}
		sum.open = append(sum.open, name)
		in := intents[name]
		if in.Fault == nil {
			continue
		}
		if in.Fault.Kind == KindPause {
			sum.paused = append(sum.paused, in.Processes...)
		}
		for _, id := range in.Fault.Targets {
			if _, ok := containers[id]; !ok {
				continue
			}
			u := undo[id]
			if u == nil {
				u = &ContainerUndo{}
				undo[id] = u
				undoOrder = append(undoOrder, id)
			}
			switch in.Fault.Kind {
			case KindPause:
				u.Unpause = true
			case KindCrash, KindRestart:
				if u.StoppedSince.IsZero() || in.Time.Before(u.StoppedSince) {
					u.StoppedSince = in.Time
				}
			}
		}
	}
	for _, id := range undoOrder {
		if u := undo[id]; u.Unpause || !u.StoppedSince.IsZero() {
			sum.containers = append(sum.containers, containerUndo{member: id, ref: containers[id], undo: *u})
		}
	}
	return sum
}

// recoverContainer undoes c through engine.
func recoverContainer(ctx context.Context, c containerUndo, engine ContainerEngine) ContainerAction {
	act := ContainerAction{ID: c.member, Container: c.ref}
	if engine == nil {
		act.Action, act.Error = ActionFailed, "no container engine to undo the fault with"
		return act
	}
	what, err := engine.RecoverContainer(ctx, c.ref, c.undo)
	act.Action = what
	if err != nil {
		act.Action, act.Error = ActionFailed, err.Error()
	}
	return act
}

// killMember thaws and kills a recorded member process if it is still that
// member.
func killMember(ctx context.Context, m ProcessRef, runDir string, sameBoot bool) ProcessAction {
	act := ProcessAction{ID: m.ID, PID: m.PID}
	if !sameBoot {
		act.Action, act.Detail = ActionGone, "the machine rebooted since"
		return act
	}
	st, err := readProc(m.PID)
	if err != nil {
		act.Action, act.Detail = ActionFailed, err.Error()
		return act
	}
	if !st.running() {
		act.Action = ActionGone
		return act
	}
	if why := notTheMember(m, st, runDir); why != "" {
		act.Action, act.Detail = ActionLeftOver, why
		return act
	}
	// A stopped process is killed by SIGKILL too; SIGCONT first anyway so
	// it goes at once whatever freezes it.
	_ = syscall.Kill(m.PID, syscall.SIGCONT)
	if err := syscall.Kill(m.PID, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		act.Action, act.Detail = ActionFailed, "SIGKILL: "+err.Error()
		return act
	}
	if err := waitGone(ctx, m.PID, st.start); err != nil {
		act.Action, act.Detail = ActionFailed, err.Error()
		return act
	}
	act.Action = ActionKilled
	return act
}

// notTheMember returns why the live process st at m.PID is not member m
// of the run in runDir, or "" when it is.
func notTheMember(m ProcessRef, st procState, runDir string) string {
	if m.Start != 0 && st.start != m.Start {
		return "the pid now belongs to another process (its start time differs)"
	}
	cmd, ok := readMemberCmdline(m.PID)
	if !ok {
		return "the pid now belongs to a process that is not a demo member"
	}
	if cmd.ID != m.ID {
		return fmt.Sprintf("the pid now belongs to member %s, not %s", cmd.ID, m.ID)
	}
	if runDir != "" {
		if within(cmd.DataDir, runDir) {
			return ""
		}
		for _, out := range procOutputs(m.PID) {
			if within(out, runDir) {
				return ""
			}
		}
		return "the pid belongs to a member of another run (neither its data nor its log is in " + runDir + ")"
	}
	if m.Addr != "" && cmd.Listen == m.Addr {
		return ""
	}
	return "cannot tell the process is this run's member"
}

// resumeProcess thaws a paused process chaosctl did not start, if it is
// still the same process.
func resumeProcess(p ProcessRef, sameBoot bool) ProcessAction {
	act := ProcessAction{ID: p.ID, PID: p.PID}
	if !sameBoot {
		act.Action, act.Detail = ActionGone, "the machine rebooted since"
		return act
	}
	st, err := readProc(p.PID)
	switch {
	case err != nil:
		act.Action, act.Detail = ActionFailed, err.Error()
	case !st.running():
		act.Action = ActionGone
	case p.Start == 0 || st.start != p.Start:
		act.Action, act.Detail = ActionLeftOver, "cannot tell the pid is still the paused process"
	default:
		if err := syscall.Kill(p.PID, syscall.SIGCONT); err != nil && !errors.Is(err, syscall.ESRCH) {
			act.Action, act.Detail = ActionFailed, "SIGCONT: "+err.Error()
		} else {
			act.Action = ActionResumed
		}
	}
	return act
}

// waitGone polls until the process pid (started at start) is gone or a zombie.
func waitGone(ctx context.Context, pid int, start uint64) error {
	deadline := time.Now().Add(recoverKillWait)
	for {
		st, err := readProc(pid)
		if err == nil && (!st.running() || st.start != start) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still alive %s after SIGKILL", recoverKillWait)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for pid %d to exit: %w", pid, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// cleanupPlane deletes the run's proxies on the toxiproxy server at url,
// with the run's plane token when one is kept beside its ledger (at
// ledgerPath).
func cleanupPlane(ctx context.Context, run, url string, embedded bool, runtime, ledgerPath string) (string, error) {
	if url == "" {
		return "no fault plane recorded", nil
	}
	switch runtime {
	case "docker":
		// Deleting proxies one by one can wait on links to frozen members;
		// removing the container takes them all at once.
		return "they go with the run's fault-plane container, removed by label", nil
	case "kubernetes":
		return "they go with the run's fault-plane pod, removed by label", nil
	}
	pctx, cancel := context.WithTimeout(ctx, recoverPlanePing)
	defer cancel()
	if err := pingToxiproxy(pctx, url); err != nil {
		if embedded {
			return "the embedded toxiproxy at " + url + " died with chaosctl, and its proxies with it", nil
		}
		msg := fmt.Sprintf("toxiproxy at %s does not answer (%v): proxies %s%s-* may remain on it", url, err, faultplane.NamePrefix, run)
		return msg, errors.New(msg)
	}
	token, err := readPlaneToken(ledgerPath)
	if err != nil {
		return err.Error(), err
	}
	client := faultplane.NewClient(url, token)
	all, err := client.Proxies()
	if err != nil {
		msg := fmt.Sprintf("list proxies on %s: %v", url, err)
		return msg, errors.New(msg)
	}
	prefix := faultplane.NamePrefix + run + "-"
	n := 0
	for name := range all {
		if strings.HasPrefix(name, prefix) {
			n++
		}
	}
	if n == 0 {
		return "no proxy of the run left on " + url, nil
	}
	if err := faultplane.Cleanup(client, run); err != nil {
		msg := fmt.Sprintf("delete proxies on %s: %v", url, err)
		return msg, errors.New(msg)
	}
	return fmt.Sprintf("deleted %d proxies (and their toxics) on %s", n, url), nil
}

func pingToxiproxy(ctx context.Context, url string) error {
	if !strings.Contains(url, "://") {
		url = "http://" + url
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(url, "/")+"/version", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /version: status %d", resp.StatusCode)
	}
	return nil
}

// removeRunDir removes the run directory when chaosctl created it as a
// temporary one (CreateTempRunDir): it must be exactly
// os.TempDir()/TempRunDirPrefix<suffix> with the random suffix the ledger
// recorded, a directory (not a symbolic link) owned by the current user.
// Whatever else a ledger names is kept, with a warning.
func removeRunDir(start Record, log *logrus.Entry) (string, error) {
	switch {
	case start.Dir == "":
		return "", nil
	case !start.TempDir && start.TempDirSuffix == "":
		return "kept (not temporary)", nil
	}
	refuse := func(why string) (string, error) {
		log.WithField("dir", start.Dir).Warnf("refused to remove the run directory: %s", why)
		return "kept, refused to remove it: " + why, nil
	}
	suffix := start.TempDirSuffix
	switch {
	case suffix == "":
		return refuse("the ledger records no random suffix for it, so it cannot be told to be a folder chaosctl created")
	case !tempDirSuffixPattern.MatchString(suffix):
		return refuse(fmt.Sprintf("the recorded suffix %q is not one chaosctl makes", suffix))
	case !filepath.IsAbs(os.TempDir()):
		return refuse(fmt.Sprintf("the temporary directory %q is not an absolute path", os.TempDir()))
	case start.Dir != tempRunDirPath(suffix):
		return refuse("it is not " + tempRunDirPath(suffix) + ", the folder chaosctl creates with the recorded suffix")
	}
	fi, err := os.Lstat(start.Dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "already gone", nil
	case err != nil:
		return "removal failed", fmt.Errorf("remove run directory: %w", err)
	case fi.Mode()&os.ModeSymlink != 0:
		return refuse("it is a symbolic link")
	case !fi.IsDir():
		return refuse("it is not a directory")
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int64(st.Uid) != int64(os.Geteuid()) {
		return refuse("it is not owned by you")
	}
	if err := os.RemoveAll(start.Dir); err != nil {
		return "removal failed", fmt.Errorf("remove run directory: %w", err)
	}
	return "removed", nil
}

// String renders the report for people.
func (r *RecoveryReport) String() string {
	var b strings.Builder
	for _, l := range r.Live {
		fmt.Fprintf(&b, "run %s: left alone (%s)\n", l.Run, l.Reason)
	}
	for _, l := range r.Refused {
		fmt.Fprintf(&b, "run %s: refused, nothing done (%s)\n", l.Run, l.Reason)
	}
	if len(r.Runs) == 0 && len(r.Refused) == 0 {
		fmt.Fprintf(&b, "nothing to recover in %s\n", r.StateDir)
		return b.String()
	}
	for _, rr := range r.Runs {
		status := "recovered"
		if !rr.Done {
			status = "NOT fully recovered (run `chaosctl recover` again)"
		}
		fmt.Fprintf(&b, "run %s (%s, chaosctl pid %d gone; ledger %s): %s\n", rr.Run, rr.Runtime, rr.PID, rr.Ledger, status)
		if rr.SkippedLines > 0 {
			fmt.Fprintf(&b, "  %s\n", rr.SkippedLinesText())
		}
		if len(rr.OpenFaults) > 0 {
			fmt.Fprintf(&b, "  faults left applied: %s\n", strings.Join(rr.OpenFaults, ", "))
		}
		for _, rb := range rr.Rollbacks {
			status := "ran"
			if !rb.OK {
				status = "FAILED"
			}
			fmt.Fprintf(&b, "  rollback of action %s: %s: %s\n", rb.Action, status, rb.Detail)
		}
		for _, p := range rr.Processes {
			line := fmt.Sprintf("  member %s (pid %d): %s", p.ID, p.PID, p.Action)
			if p.Detail != "" {
				line += ": " + p.Detail
			}
			b.WriteString(line + "\n")
		}
		for _, c := range rr.Containers {
			line := fmt.Sprintf("  member %s (container %s %.12s on %s): %s", c.ID, c.Container.Name, c.Container.ID, c.Container.Host, c.Action)
			if c.Error != "" {
				line += ": " + c.Error
			}
			b.WriteString(line + "\n")
		}
		if rr.Proxies != "" {
			fmt.Fprintf(&b, "  proxies: %s\n", rr.Proxies)
		}
		if rr.Logs != "" {
			fmt.Fprintf(&b, "  member logs: %s\n", rr.Logs)
		}
		if rr.Dir != "" {
			fmt.Fprintf(&b, "  folder %s: %s\n", rr.Dir, rr.DirAction)
		}
		for _, e := range rr.Errors {
			fmt.Fprintf(&b, "  error: %s\n", e)
		}
	}
	return b.String()
}

// SkippedLinesText says how many lines of the run's ledger were skipped.
func (rr *RunRecovery) SkippedLinesText() string {
	return fmt.Sprintf("ledger lines skipped: %d (torn by a crash mid-write, or damaged; the records around them were used)", rr.SkippedLines)
}
