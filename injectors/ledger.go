package injectors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chaosctl/chaosctl/targets"
)

// EnvStateDir overrides the state directory.
const EnvStateDir = "CHAOSCTL_STATE_DIR"

// StateDir returns chaosctl's state directory: $CHAOSCTL_STATE_DIR, else
// $XDG_STATE_HOME/chaosctl, else ~/.local/state/chaosctl.
func StateDir() (string, error) {
	if d := os.Getenv(EnvStateDir); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "chaosctl"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the state directory (set %s): %w", EnvStateDir, err)
	}
	return filepath.Join(home, ".local", "state", "chaosctl"), nil
}

// LedgerDir is the folder of the ledgers in stateDir, one file per run.
func LedgerDir(stateDir string) string { return filepath.Join(stateDir, "ledger") }

// RecordType says what a ledger record is.
type RecordType string

// Ledger record types.
const (
	RecordRunStart          RecordType = "run-start"           // the run, its chaosctl process, runtime and directory
	RecordPlane             RecordType = "plane"               // the toxiproxy server of the fault plane
	RecordKubernetes        RecordType = "kubernetes"          // the cluster and namespace of a kubernetes run
	RecordMember            RecordType = "member"              // a member process started (also on restarts)
	RecordFaultIntent       RecordType = "fault-intent"        // about to apply a fault: written before anything is touched
	RecordFaultApplied      RecordType = "fault-applied"       // the fault is in place
	RecordFaultFailed       RecordType = "fault-failed"        // applying failed; nothing of it remains
	RecordFaultReverted     RecordType = "fault-reverted"      // the fault is gone
	RecordFaultRevertFailed RecordType = "fault-revert-failed" // reverting failed; the fault may remain
	RecordRecoveryFailed    RecordType = "recovery-failed"     // `chaosctl recover` could not finish; it will try again
	RecordActionIntent      RecordType = "action-intent"       // about to run an action: its rollback is pending from now on
	RecordActionDone        RecordType = "action-done"         // the action ended (Error: it failed)
	RecordRollbackDone      RecordType = "rollback-done"       // the action's rollback ran: never again
	RecordRollbackFailed    RecordType = "rollback-failed"     // the rollback failed: still pending
	RecordRunEnd            RecordType = "run-end"             // nothing of the run remains
)

// Outcomes of a run-end record written by chaosctl itself (runners may
// write their own, such as a verdict).
const (
	OutcomeCompleted = "completed"
	OutcomeRecovered = "recovered" // written by Recover
	// OutcomeRevertFailed ends a run that could not revert every fault:
	// Recover does not take it as finished, and retries what is left.
	OutcomeRevertFailed = "revert-failed"
)

// Record is one line of a ledger. Fields not used by its type are empty.
type Record struct {
	Time time.Time  `json:"time"`
	Type RecordType `json:"type"`
	Run  string     `json:"run"`

	// run-start: chaosctl's process (PIDStart and BootID tell a reused pid
	// apart), the runtime, the run directory and whether it is temporary.
	PID      int    `json:"pid,omitempty"`
	PIDStart uint64 `json:"pidStart,omitempty"`
	BootID   string `json:"bootId,omitempty"`
	Runtime  string `json:"runtime,omitempty"`
	Dir      string `json:"dir,omitempty"`
	TempDir  bool   `json:"tempDir,omitempty"`
	// TempDirSuffix is the random end of a temporary run directory's name
	// (CreateTempRunDir): recovery removes Dir only when it is exactly
	// os.TempDir()/TempRunDirPrefix+TempDirSuffix.
	TempDirSuffix string `json:"tempDirSuffix,omitempty"`
	// run-start or plane: the toxiproxy API, and whether chaosctl embedded
	// it (it then dies with chaosctl).
	PlaneURL      string `json:"planeUrl,omitempty"`
	PlaneEmbedded bool   `json:"planeEmbedded,omitempty"`

	// kubernetes: where the run's objects are (recover removes them by
	// label there).
	Kubernetes *KubeRef `json:"kubernetes,omitempty"`

	// member: the process started (with Container, the user's container
	// found: its pid is 0).
	Member    *ProcessRef           `json:"member,omitempty"`
	Container *targets.ContainerRef `json:"container,omitempty"`

	// fault-*: the fault (whole in the intent, by name after), the
	// processes of its targets at the time (intent), and the error.
	Fault     *Fault       `json:"fault,omitempty"`
	FaultName string       `json:"faultName,omitempty"`
	Processes []ProcessRef `json:"processes,omitempty"`
	Error     string       `json:"error,omitempty"`

	// action-* and rollback-*: the action, and (intent) its rollback.
	ActionName string `json:"actionName,omitempty"`
	Rollback   *Step  `json:"rollback,omitempty"`

	// run-end.
	Outcome string `json:"outcome,omitempty"`
}

// ProcessRef names a member's process so that recovery finds it again and
// never mistakes another process that reused the pid for it.
type ProcessRef struct {
	ID    string `json:"id"`
	Role  string `json:"role,omitempty"`
	Addr  string `json:"addr,omitempty"`
	PID   int    `json:"pid"`
	Start uint64 `json:"start,omitempty"` // start time in clock ticks since boot
	// PGID, for a member chaosctl started as a command (the external
	// target's), is the process group it leads (its pid) and Cookie the
	// value of targets.EnvMemberCookie its processes inherit: recovery
	// thaws and ends the whole group, and every process bearing the cookie.
	PGID   int    `json:"pgid,omitempty"`
	Cookie string `json:"cookie,omitempty"`
}

// processRef is member m's process as the ledger records it, its start time
// read now.
func processRef(m targets.Member) ProcessRef {
	return ProcessRef{ID: m.ID, Role: m.Role, Addr: m.Addr, PID: m.PID, Start: procStart(m.PID), PGID: m.PGID, Cookie: m.Cookie}
}

// RunInfo describes a run when its ledger is created.
type RunInfo struct {
	Run     string // run id: letters, digits, '.', '_', '-'
	Runtime string // process, docker, external
	Dir     string // run directory
	// TempDirSuffix is set when Dir was made by CreateTempRunDir (it returns
	// the suffix): recovery removes that directory, and no other.
	TempDirSuffix string
	PlaneURL      string // toxiproxy API, when known now (else see Ledger.Plane)
	PlaneEmbedded bool
	// PID is chaosctl's process; 0 means this process.
	PID int
	// Redact, when set, rewrites each record's JSON before it is written:
	// the run's redactor of sensitive values (secrets, env, headers).
	Redact func([]byte) []byte
}

var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$`)

// ErrLedgerClosed is returned by writes after End or Close.
var ErrLedgerClosed = errors.New("ledger closed")

// Ledger is a run's append-only NDJSON journal of what chaosctl started and
// applied, every record fsynced before the call returns, so `chaosctl
// recover` can undo it after chaosctl was killed. While open, the ledger
// holds an exclusive flock on its file: recovery never touches a run whose
// chaosctl still holds it. It is safe for concurrent use.
type Ledger struct {
	run  string
	path string

	mu      sync.Mutex
	f       *os.File
	torn    bool  // a write failed: the file may end in part of a line
	hookErr error // first failure of the OnStarted hook, which cannot return it
	redact  func([]byte) []byte
}

// TempRunDirPrefix begins the name of every temporary run directory chaosctl
// creates in os.TempDir(). Recovery removes no other folder.
const TempRunDirPrefix = "chaosctl-run-"

// tempDirSuffixPattern is what a random suffix of a temporary run directory
// may be: never a path separator, never "..".
var tempDirSuffixPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,64}$`)

// CreateTempRunDir creates a private temporary run directory,
// os.TempDir()/TempRunDirPrefix<random>, and returns its path and the random
// suffix, which RunInfo.TempDirSuffix records so that recovery can tell the
// directory is chaosctl's own.
func CreateTempRunDir() (dir, suffix string, err error) {
	dir, err = os.MkdirTemp(os.TempDir(), TempRunDirPrefix)
	if err != nil {
		return "", "", fmt.Errorf("create temporary run directory: %w", err)
	}
	suffix = strings.TrimPrefix(filepath.Base(dir), TempRunDirPrefix)
	if !tempDirSuffixPattern.MatchString(suffix) {
		_ = os.Remove(dir)
		return "", "", fmt.Errorf("create temporary run directory: %s: unexpected random suffix %q", dir, suffix)
	}
	return tempRunDirPath(suffix), suffix, nil
}

// tempRunDirPath is the temporary run directory with the random suffix.
func tempRunDirPath(suffix string) string {
	return filepath.Join(os.TempDir(), TempRunDirPrefix+suffix)
}

// CreateLedger creates the ledger of a new run in stateDir and writes its
// run-start record.
func CreateLedger(stateDir string, info RunInfo) (*Ledger, error) {
	if !runIDPattern.MatchString(info.Run) {
		return nil, fmt.Errorf("create ledger: run id %q: use letters, digits, '.', '_' or '-'", info.Run)
	}
	if info.TempDirSuffix != "" && (!tempDirSuffixPattern.MatchString(info.TempDirSuffix) || info.Dir != tempRunDirPath(info.TempDirSuffix)) {
		return nil, fmt.Errorf("create ledger: %s is not the temporary run directory with suffix %q (use CreateTempRunDir)", info.Dir, info.TempDirSuffix)
	}
	dir := LedgerDir(stateDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create ledger: %w", err)
	}
	path := filepath.Join(dir, info.Run+".ndjson")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create ledger: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("create ledger: lock %s: %w", path, err)
	}
	l := &Ledger{run: info.Run, path: path, f: f, redact: info.Redact}
	pid := info.PID
	if pid == 0 {
		pid = os.Getpid()
	}
	err = l.write(Record{
		Type: RecordRunStart, PID: pid, PIDStart: procStart(pid), BootID: bootID(),
		Runtime: info.Runtime, Dir: info.Dir, TempDir: info.TempDirSuffix != "", TempDirSuffix: info.TempDirSuffix,
		PlaneURL: info.PlaneURL, PlaneEmbedded: info.PlaneEmbedded,
	})
	if err == nil {
		err = syncDir(dir) // the new file's name must survive a crash too
	}
	if err != nil {
		f.Close()
		_ = os.Remove(path)
		return nil, fmt.Errorf("create ledger: %w", err)
	}
	return l, nil
}

// Path is the ledger's file.
func (l *Ledger) Path() string { return l.path }

// Run is the run id.
func (l *Ledger) Run() string { return l.run }

// Plane records the fault plane's toxiproxy API once it is known.
func (l *Ledger) Plane(url string, embedded bool) error {
	return l.write(Record{Type: RecordPlane, PlaneURL: url, PlaneEmbedded: embedded})
}

// KubeRef is the cluster a kubernetes run created its objects in.
type KubeRef struct {
	Kubeconfig string `json:"kubeconfig,omitempty"` // "" = default loading rules
	Context    string `json:"context,omitempty"`
	Namespace  string `json:"namespace"`
}

// Kubernetes records the cluster and namespace of a kubernetes run, as soon
// as its namespace exists.
func (l *Ledger) Kubernetes(ref KubeRef) error {
	return l.write(Record{Type: RecordKubernetes, Kubernetes: &ref})
}

// KubernetesRuns reads every ledger in stateDir and returns, by run, the
// cluster its objects are in (for runs that recorded one). A ledger that is
// not private to the current user is skipped unread (Recover reports it).
func KubernetesRuns(stateDir string) (map[string]KubeRef, error) {
	paths, err := filepath.Glob(filepath.Join(LedgerDir(stateDir), "*.ndjson"))
	if err != nil {
		return nil, err
	}
	out := map[string]KubeRef{}
	var errs []error
	for _, p := range paths {
		recs, _, err := readPrivateLedger(p)
		var untrusted *UntrustedLedgerError
		if errors.As(err, &untrusted) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, r := range recs {
			if r.Type == RecordKubernetes && r.Kubernetes != nil {
				out[r.Run] = *r.Kubernetes
			}
		}
	}
	return out, errors.Join(errs...)
}

// Members records started member processes, and users' containers found
// (members with a Container).
func (l *Ledger) Members(members []targets.Member) error {
	var errs []error
	for _, m := range members {
		ref := processRef(m)
		errs = append(errs, l.write(Record{Type: RecordMember, Member: &ref, Container: m.Container}))
	}
	return errors.Join(errs...)
}

// OnStarted is Members in the shape of processdemo.Options.OnStarted; a
// failure is kept and returned by Err (and by End).
func (l *Ledger) OnStarted(members []targets.Member) {
	if err := l.Members(members); err != nil {
		l.mu.Lock()
		if l.hookErr == nil {
			l.hookErr = err
		}
		l.mu.Unlock()
	}
}

// Err returns the first failure of OnStarted.
func (l *Ledger) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hookErr
}

// Intent records that f is about to be applied; procs are its targets'
// processes as they are now.
func (l *Ledger) Intent(f Fault, procs []ProcessRef) error {
	return l.write(Record{Type: RecordFaultIntent, Fault: &f, FaultName: f.Name, Processes: procs})
}

// Applied records that fault name is in place.
func (l *Ledger) Applied(name string) error {
	return l.write(Record{Type: RecordFaultApplied, FaultName: name})
}

// ApplyFailed records that applying fault name failed and nothing remains.
func (l *Ledger) ApplyFailed(name string, cause error) error {
	return l.write(Record{Type: RecordFaultFailed, FaultName: name, Error: errText(cause)})
}

// Reverted records that fault name is gone.
func (l *Ledger) Reverted(name string) error {
	return l.write(Record{Type: RecordFaultReverted, FaultName: name})
}

// RevertFailed records that reverting fault name failed.
func (l *Ledger) RevertFailed(name string, cause error) error {
	return l.write(Record{Type: RecordFaultRevertFailed, FaultName: name, Error: errText(cause)})
}

// End writes the run-end record and closes the ledger; recovery then leaves
// the run alone. It returns the OnStarted failure, if any, too.
func (l *Ledger) End(outcome string) error {
	err := l.write(Record{Type: RecordRunEnd, Outcome: outcome})
	return errors.Join(err, l.Err(), l.Close())
}

// Close closes the ledger without an end record: the run stays recoverable
// (after this process is gone). It is idempotent.
func (l *Ledger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close() // releases the flock
	l.f = nil
	if err != nil {
		return fmt.Errorf("close ledger %s: %w", l.path, err)
	}
	return nil
}

func (l *Ledger) write(r Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return fmt.Errorf("ledger %s: %w", l.path, ErrLedgerClosed)
	}
	err := appendRedactedRecord(l.f, l.run, r, l.torn, l.redact)
	l.torn = err != nil
	return err
}

// appendRecord writes r as one line and fsyncs it. With freshLine (the file
// may not end in a newline: a write was torn) it writes a newline first, so
// the record never glues onto the torn line.
func appendRecord(f *os.File, run string, r Record, freshLine bool) error {
	return appendRedactedRecord(f, run, r, freshLine, nil)
}

// appendRedactedRecord is appendRecord with the record's JSON passed
// through redact (when not nil).
func appendRedactedRecord(f *os.File, run string, r Record, freshLine bool, redact func([]byte) []byte) error {
	r.Run = run
	if r.Time.IsZero() {
		r.Time = time.Now().UTC()
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("ledger: encode %s record: %w", r.Type, err)
	}
	if redact != nil {
		b = redact(b)
	}
	line := make([]byte, 0, len(b)+2)
	if freshLine {
		line = append(line, '\n')
	}
	line = append(append(line, b...), '\n')
	if _, err := f.Write(line); err != nil {
		return fmt.Errorf("ledger: append %s record: %w", r.Type, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("ledger: sync %s record: %w", r.Type, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// readPrivateLedger is ReadLedger of a ledger that must be private to the
// current user (openPrivateLedger).
func readPrivateLedger(path string) ([]Record, []SkippedLine, error) {
	f, err := openPrivateLedger(path, os.O_RDONLY)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, fmt.Errorf("read ledger %s: %w", path, err)
	}
	recs, skipped := ParseLedger(b)
	return recs, skipped, nil
}

// SkippedLine is a line of a ledger that holds no record: torn by a crash in
// the middle of a write, or damaged. Readers skip it and use the records
// around it.
type SkippedLine struct {
	Line   int    `json:"line"` // from 1
	Reason string `json:"reason"`
}

// ReadLedger reads every record of a ledger file, skipping the lines that
// hold none (see ParseLedger).
func ReadLedger(path string) ([]Record, []SkippedLine, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read ledger: %w", err)
	}
	recs, skipped := ParseLedger(b)
	return recs, skipped, nil
}

// ParseLedger parses the NDJSON of a ledger. A line that is not a JSON object
// with a record type (a last line torn by a crash mid-write, or a damaged
// one anywhere) is skipped and returned in skipped; the records before and
// after it are kept. Blank lines are neither.
func ParseLedger(b []byte) (recs []Record, skipped []SkippedLine) {
	for line := 1; len(b) > 0; line++ {
		var text []byte
		text, b, _ = bytes.Cut(b, []byte{'\n'})
		text = bytes.TrimSpace(text)
		if len(text) == 0 {
			continue
		}
		r, err := parseRecord(text)
		if err != nil {
			skipped = append(skipped, SkippedLine{Line: line, Reason: err.Error()})
			continue
		}
		recs = append(recs, r)
	}
	return recs, skipped
}

func parseRecord(text []byte) (Record, error) {
	var r Record
	if text[0] != '{' {
		return r, errors.New("not a JSON object")
	}
	if err := json.Unmarshal(text, &r); err != nil {
		return r, err
	}
	if r.Type == "" {
		return r, errors.New("no record type")
	}
	return r, nil
}
