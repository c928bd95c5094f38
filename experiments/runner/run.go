package runner

import (
	"context"
	"errors"
	"fmt"
	"github.com/chaosctl/chaosctl/internal/hostload"
	"hash/fnv"
	"math"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/internal/crash"
	"github.com/chaosctl/chaosctl/probes"
	"github.com/chaosctl/chaosctl/probes/workload"
	"github.com/chaosctl/chaosctl/slo"
	"github.com/chaosctl/chaosctl/slo/judge"
	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/external"
	"github.com/chaosctl/chaosctl/targets/faultplane"
)

// Errors the CLI maps to exit codes.
var (
	// ErrInterrupted: the run was cancelled (SIGINT/SIGTERM); every fault was
	// reverted before Run returned.
	ErrInterrupted = errors.New("interrupted; every fault was reverted")
	// ErrEnvironment wraps failures of the environment: the target did not
	// start, a revert failed.
	ErrEnvironment = errors.New("environment error")
)

// RunOptions configure Run.
type RunOptions struct {
	// File is the experiment file's path and Source its bytes (copied into the
	// output folder and named in the reports).
	File   string
	Source []byte
	Settings
	// Target, when set, is an already running target (a GameDay's shared
	// one): Run neither starts nor stops it, and the experiment's own
	// target section only describes it. Faults are still reverted on every
	// path out of Run.
	Target targets.Target
	// NoStepSummary leaves $GITHUB_STEP_SUMMARY alone: the caller (a
	// repeat) appends one summary of its own for all its runs.
	NoStepSummary bool
	// Control, when set, is this run's control run: the run compares its
	// SLOs' per-second series with the control's and writes the comparison
	// into its result (Result.Control); with limits, it decides too.
	Control *Baseline
}

// Baseline is a finished control run, as the experiment after it compares
// against it.
type Baseline struct {
	// Dir is the control run's folder, relative to the experiment's.
	Dir string
	// Result is the control run's result, Series its SLOs' per-second
	// series (Outcome.Series).
	Result *report.Result
	Series map[string][]judge.SLISecond
	// Limits are the degradation limits (the file's degradation:).
	Limits judge.Limits
}

// DefaultCheckBudget is the linearizability checker's default time budget.
const DefaultCheckBudget = 30 * time.Second

// RunFunc is the signature of Run: what explore and repeat call for each
// run (a fake in their tests).
type RunFunc func(ctx context.Context, e *experiments.Experiment, opts RunOptions) (*Outcome, error)

// Outcome is what Run produced.
type Outcome struct {
	Result *report.Result
	Dir    string // the output folder
	// Series are the availability and latency SLOs' per-second series, by
	// SLO name: what a control run gives the experiment after it.
	Series map[string][]judge.SLISecond
}

// runState is one run in progress.
type runState struct {
	e       *experiments.Experiment
	plan    *experiments.Plan
	opts    RunOptions
	log     *logrus.Entry
	runID   string
	dir     string
	journal *report.Journal
	res     *report.Result

	cluster clusterSamples
	stopRun context.CancelFunc // ends the workload when the stop condition fires

	// cancel ends the whole run with a cause (a *crash.Panic: see crashed);
	// crash is the run's first panic.
	cancel context.CancelCauseFunc
	crash  atomic.Pointer[crash.Panic]

	// final is every written key's value read back after the run (nil:
	// absent), for no-lost-writes; a key that could not be read is missing.
	final map[string]*string
	// crdtFinals is every home replica's copy of every CRDT value the
	// workload updated, read back after the run, for converges.
	crdtFinals []slo.CRDTFinal

	rc receipts // the faults' receipts (receipts.go)
	// receiptCtx is the run's context (not the workload's): receipts end
	// with the run, not when the workload stops.
	receiptCtx context.Context

	// ledger is the run's fault ledger (set by execute); actionsStarted the
	// actions started, by index, in start order (guarded by mu).
	ledger         *injectors.Ledger
	actionsStarted []int

	mu     sync.Mutex
	judge  *judge.Judge // fed the seconds and samples; mu guards it
	faults map[string]*report.FaultResult
	active map[string]bool
}

// Run runs an experiment end to end: start the target, drive the workload,
// apply and revert the faults on schedule, judge steady state and SLOs, stop
// the target and write the output folder. Every fault is reverted on every
// path out of Run (normal end, error, cancellation, panic). The returned error
// is nil whatever the verdict; it wraps ErrInterrupted, ErrCrashed or
// ErrEnvironment when the run could not be judged normally (Outcome.Result
// is still written). A panic in the run or in a goroutine it started ends
// the run like an interruption does, and Run returns ErrCrashed.
func Run(ctx context.Context, e *experiments.Experiment, opts RunOptions) (out *Outcome, err error) {
	// Nothing the run writes (files, logs, the ledger, its error) shows a
	// secret, a member's env value or a sensitive header (redact.go).
	red := e.Redactor()
	opts.Log = redactedLog(opts.Logger(), red)
	defer func() { err = redactErr(err, red) }()
	seed := opts.SeedFor(e.Seed)
	runtime := opts.RuntimeFor(string(e.Target.Runtime))
	if opts.Target != nil {
		runtime = opts.Target.Runtime()
	}
	plan, err := e.Plan(seed)
	if err != nil {
		return nil, err
	}
	if err := (&runState{e: e, opts: opts}).checkProbeURLs(); err != nil {
		return nil, err
	}
	started := time.Now().UTC()
	dir, err := opts.MakeOutDir(e.Metadata.Name, started)
	if err != nil {
		return nil, err
	}
	if len(opts.Source) > 0 {
		_ = os.WriteFile(filepath.Join(dir, report.FileExperiment), e.RedactSource(opts.Source), 0o644)
	}
	log := opts.Logger()
	r := &runState{
		e: e, plan: plan, opts: opts, dir: dir,
		runID:  RunID(e.Metadata.Name, started),
		faults: map[string]*report.FaultResult{}, active: map[string]bool{},
		cluster: clusterSamples{seconds: map[int]probes.ClusterSample{}},
	}
	r.judge = judge.New(r.judgeSpec())
	r.log = log.WithFields(logrus.Fields{"component": "runner", "run": r.runID})
	r.res = &report.Result{
		Experiment: e.Metadata.Name,
		Header:     report.Header{Description: e.Metadata.Description, File: opts.File, Seed: seed, Started: started, ChaosctlVersion: opts.Version, Runtime: runtime},
		SLOs:       []report.SLOResult{}, Probes: []report.ProbeResult{}, Checks: []report.CheckResult{}, Faults: []report.FaultResult{},
		Host: &report.HostLoad{Start: hostload.Read()},
	}
	r.res.Variables = resultVariables(opts.Variables, e.Variables)
	for _, pf := range plan.Faults {
		fr := &report.FaultResult{Name: pf.Name, Kind: string(pf.Kind), Targets: pf.Targets, Scheduled: "+" + pf.Start.String()}
		at := (pf.Start - plan.Warmup).Seconds()
		fr.At = &at
		for _, l := range pf.Links {
			fr.Links = append(fr.Links, l.String())
		}
		r.faults[pf.Name] = fr
	}
	r.initActions()
	if r.journal, err = report.OpenJournal(dir); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEnvironment, err)
	}
	r.journal.SetRedact(red.Bytes)
	defer r.journal.Close()
	r.journal.Add("run-start", map[string]any{"run": r.runID, "experiment": e.Metadata.Name, "seed": seed, "runtime": runtime})
	r.log.WithFields(logrus.Fields{"seed": seed, "dir": dir}).Info("run starting")

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.cancel = cancel
	runErr := r.execute(runCtx, runtime)

	r.res.Ended = time.Now().UTC()
	r.finishFaults()
	r.res.SetOffsets()
	if runErr != nil {
		r.res.Errors = append(r.res.Errors, runErr.Error())
	}
	r.verdict(runErr)
	r.journal.Add("verdict", map[string]any{"verdict": r.res.Verdict, "reason": r.res.Reason})
	if res, err := redactResult(r.res, red); err != nil {
		r.log.WithError(err).Warn("redact the result")
	} else {
		r.res = res
	}
	if err := r.res.WriteJSON(dir); err != nil && runErr == nil {
		runErr = fmt.Errorf("%w: %w", ErrEnvironment, err)
	}
	// The reports read the journal: flush it first.
	if err := r.journal.Close(); err != nil {
		r.log.WithError(err).Warn("close the journal")
	}
	if opts.AnnotateURL != "" {
		r.annotate(ctx)
	}
	renderErr := report.Render(dir)
	// What the run's own writers did not redact (the members' logs), and
	// anything derived from what they did.
	if err := redactFolder(dir, started.Add(-time.Second), red); err != nil {
		r.log.WithError(err).Warn("redact the output folder")
	}
	if err := renderErr; err != nil {
		r.log.WithError(err).Warn("render the reports")
	} else if md, err := os.ReadFile(filepath.Join(dir, "summary.md")); err == nil && !opts.NoStepSummary {
		if path, err := report.AppendGitHubStepSummary(md); err != nil {
			r.log.WithError(err).Warn("append to the GitHub step summary")
		} else if path != "" {
			r.log.WithField("file", path).Info("summary appended to the GitHub step summary")
		}
	}
	return &Outcome{Result: r.res, Dir: dir, Series: r.series()}, runErr
}

// execute runs the target, workload and faults. Whatever happens in it, the
// faults are reverted and the target is stopped before it returns.
func (r *runState) execute(ctx context.Context, runtime string) (err error) {
	var demoSpec demo.ClusterSpec
	if r.e.Target.Demo != nil {
		if demoSpec, err = r.demoSpec(runtime); err != nil {
			return err
		}
	} else if runtime != string(experiments.RuntimeExternal) {
		return fmt.Errorf("target.external runs on the external runtime, not %q: %w", runtime, ErrUsage)
	}
	maxCtx, cancelMax := context.WithTimeout(ctx, r.e.Abort.MaxDuration)
	defer cancelMax()

	stateDir := r.opts.StateDir
	if stateDir == "" {
		if stateDir, err = injectors.StateDir(); err != nil {
			return fmt.Errorf("state directory: %w: %w", ErrEnvironment, err)
		}
	}
	embedded := r.planeEmbedded(runtime)
	ledger, err := injectors.CreateLedger(stateDir, injectors.RunInfo{Run: r.runID, Runtime: runtime, Dir: r.dir, PlaneEmbedded: embedded, Redact: r.e.Redactor().Bytes})
	if err != nil {
		return fmt.Errorf("open the fault ledger: %w: %w", ErrEnvironment, err)
	}
	defer ledger.Close()
	defer ledger.RemovePlaneToken()
	r.ledger = ledger

	startCtx, cancelStart := context.WithTimeout(maxCtx, startTimeout(runtime))
	began := time.Now()
	// A target Run did not start (a shared one) is its owner's to stop.
	target, err, owned := r.opts.Target, error(nil), r.opts.Target == nil
	if owned {
		target, err = r.startTarget(startCtx, runtime, demoSpec, ledger)
	}
	cancelStart()
	if err != nil {
		if ctx.Err() != nil {
			return ErrInterrupted
		}
		return fmt.Errorf("start the demo cluster on %s: %w: %w", runtime, ErrEnvironment, err)
	}
	r.journal.Add("target-ready", map[string]any{"runtime": runtime, "seconds": time.Since(began).Seconds()})
	r.log.WithFields(logrus.Fields{"runtime": runtime, "took": time.Since(began).Round(time.Millisecond)}).Info("target ready")
	if err := writePrometheusTargets(r.dir, r.runID, target.Members()); err != nil {
		r.log.WithError(err).Warn("write prometheus-targets.json")
	}
	if err := ledger.Plane(target.Plane().URL(), embedded); err != nil {
		if owned {
			_ = target.Close(context.Background())
		}
		return fmt.Errorf("fault ledger: %w: %w", ErrEnvironment, err)
	}
	// `chaosctl halt` reverts through the plane with it (not in the ledger).
	if err := ledger.PlaneToken(target.Plane().Token()); err != nil {
		r.log.WithError(err).Warn("fault ledger: halt will not reach the fault plane directly")
	}
	tracker := injectors.NewTracker(injectors.DefaultRegistry(), target, ledger, r.log.WithField("component", "injectors"))

	// Every path out reverts, then stops the target: a fresh context, so a
	// cancelled run (the first Ctrl-C) still reverts; the CLI ignores further
	// signals until this is done. A panic here ends the run as crashed.
	defer func() {
		if rec := recover(); rec != nil {
			r.crashed(crash.Of("the run", rec))
			err = r.crashErr()
		}
		cleanup, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		rerr := r.revertRemaining(cleanup, tracker)
		if rerr != nil {
			r.log.WithError(rerr).Error("REVERT FAILED: these faults may remain; run `chaosctl recover`")
			err = errors.Join(err, fmt.Errorf("revert: %w: %w", ErrEnvironment, rerr))
		}
		if berr := r.rollbackActions(); berr != nil {
			r.log.WithError(berr).Error("ROLLBACK FAILED: run `chaosctl recover` to try again")
			err = errors.Join(err, fmt.Errorf("%w: %w", ErrEnvironment, berr))
			rerr = errors.Join(rerr, berr)
		}
		if owned {
			if cerr := target.Close(cleanup); cerr != nil {
				r.log.WithError(cerr).Warn("stop the target")
			}
		}
		outcome := injectors.OutcomeCompleted
		switch {
		case rerr != nil:
			outcome = injectors.OutcomeRevertFailed // recover retries it
		case err != nil:
			outcome = "error"
		}
		if lerr := ledger.End(outcome); lerr != nil {
			r.log.WithError(lerr).Warn("close the fault ledger")
		}
	}()

	if err := r.drive(maxCtx, ctx, target, tracker); err != nil {
		return err
	}
	if slices.Contains(r.e.Checks, experiments.CheckNoLostWrites) {
		if err := r.readBack(maxCtx, target, tracker); err != nil {
			return err
		}
	}
	if slices.Contains(r.e.Checks, experiments.CheckConverges) {
		if err := r.readBackCRDT(maxCtx, target, tracker); err != nil {
			return err
		}
	}
	return r.crashErr()
}

// externalSpec translates target.external (and target.kubernetes, the
// cluster of its pod members).
func externalSpec(x *experiments.ExternalTarget, k *experiments.KubernetesTarget) external.Spec {
	var s external.Spec
	if k != nil {
		s.Kubernetes = &external.KubeSpec{Kubeconfig: k.Kubeconfig, Context: k.Context, Allow: k.Allow}
	}
	if x.Toxiproxy != nil {
		s.ToxiproxyURL = x.Toxiproxy.URL
	}
	for _, m := range x.Members {
		ms := external.MemberSpec{Name: m.Name, Command: m.Command, Env: m.Env, Dir: m.Dir, Ports: m.Ports}
		if m.Ready != nil {
			ms.ReadyHTTP, ms.ReadyTCP = m.Ready.HTTP, m.Ready.TCP
		}
		if m.Container != nil {
			ms.ContainerName, ms.ContainerLabel = m.Container.Name, m.Container.Label
		}
		if m.Pod != nil {
			ms.PodNamespace, ms.PodSelector = m.Pod.Namespace, m.Pod.Selector
		}
		s.Members = append(s.Members, ms)
	}
	for _, p := range x.Proxies {
		s.Proxies = append(s.Proxies, external.ProxySpec{Name: p.Name, Listen: p.Listen, Upstream: p.Upstream})
	}
	return s
}

// generator is the workload a run drives: the key-value load generator or
// the lock workload.
type generator interface {
	Run(ctx context.Context) (*workload.Summary, error)
	Progress() workload.Progress
}

// lockWorkload builds the lock workload (workload.kind lock) against the
// target's gateways, with cfg's timing, history and per-second callback.
func (r *runState) lockWorkload(target targets.Target, cfg workload.Config) (*workload.LockWorkload, error) {
	l := r.e.Workload.Lock
	lc := workload.LockConfig{
		Name: l.Name, Resource: l.Resource, Clients: l.Clients, Lease: l.Lease, Hold: l.Hold,
		Fencing: l.Fencing, PauseEvery: l.PauseEvery, Pause: l.Pause,
		Warmup: cfg.Warmup, Duration: cfg.Duration, Timeout: cfg.Timeout,
		LatencyThresholds: cfg.LatencyThresholds, History: cfg.History, OnSecond: cfg.OnSecond,
	}
	for _, a := range target.ClientAddrs() {
		lc.Bases = append(lc.Bases, "http://"+a)
	}
	lg, err := workload.NewLockWorkload(lc, workload.NewHTTPClient(l.Clients), mrand.New(mrand.NewPCG(uint64(r.res.Seed), 0x10c)))
	if err != nil {
		return nil, fmt.Errorf("workload: %w", err)
	}
	return lg, nil
}

// drive runs the workload with the fault schedule beside it.
func (r *runState) drive(ctx, userCtx context.Context, target targets.Target, tracker *injectors.Tracker) error {
	w := r.e.Workload
	cfg := workload.Config{
		Rate: w.Rate, Warmup: w.Warmup, FlatWarmup: !w.RampUp, Duration: w.Duration,
		Kind: string(w.Kind),
		Keys: w.Keys, Distribution: workload.Distribution(w.Distribution), ReadRatio: float64(w.ReadRatio),
		KeyPattern: string(w.KeyPattern),
		MissRatio:  float64(w.MissRatio),
		ValueSize:  int(w.ValueSize), Timeout: w.Timeout, LatencyThresholds: r.latencyThresholds(),
		OnSecond: r.onSecond,
	}
	if s := w.Scan; w.Kind == experiments.WorkloadScan && s != nil {
		cfg.ScanRatio, cfg.ScanWidth, cfg.ScanLimit = float64(s.Ratio), s.Width, s.Limit
	}
	var history *os.File
	if len(r.e.Checks) > 0 {
		var err error
		if history, err = os.Create(filepath.Join(r.dir, "history.ndjson")); err != nil {
			return fmt.Errorf("create history: %w: %w", ErrEnvironment, err)
		}
		defer history.Close()
		cfg.History = history
	}
	if w.Kind != experiments.WorkloadLock {
		if err := cfg.Validate(); err != nil {
			return fmt.Errorf("workload: %w", err)
		}
	}
	var (
		driver workload.Driver
		gen    generator
	)
	if w.Kind == experiments.WorkloadLock {
		lg, err := r.lockWorkload(target, cfg)
		if err != nil {
			return err
		}
		gen = lg
	} else if len(w.HTTP) > 0 {
		// Users' own services: the request classes, by weight.
		cfg.ReadRatio, cfg.Keys = 1, 1
		var classes []workload.HTTPClass
		for _, h := range w.HTTP {
			cfg.Classes = append(cfg.Classes, workload.Class{Name: h.Name, Weight: h.Weight})
			classes = append(classes, workload.HTTPClass{Name: h.Name, Method: string(h.Method), URL: h.URL, Headers: h.Headers, Body: h.Body, Expect: h.Expect})
		}
		if err := cfg.Validate(); err != nil {
			return fmt.Errorf("workload: %w", err)
		}
		d, err := workload.NewHTTPDriver(classes, workload.NewHTTPClient(cfg.MaxInFlight))
		if err != nil {
			return fmt.Errorf("workload driver: %w", err)
		}
		driver = d
	} else if rw := w.Redis; rw != nil {
		// A Redis server of the user's: the key-value workload as GET/SET.
		d := workload.NewRedisDriver(rw.Addr, rw.DB, cfg.MaxInFlight)
		defer d.Close()
		driver = d
	} else {
		urls := make([]string, 0)
		for _, a := range target.ClientAddrs() {
			urls = append(urls, "http://"+a)
		}
		d, err := workload.NewKVDriver(urls, workload.NewHTTPClient(cfg.MaxInFlight))
		if err != nil {
			return fmt.Errorf("workload driver: %w", err)
		}
		if w.Sticky {
			d.Sticky()
		}
		driver = d
	}
	if gen == nil {
		kv, err := workload.New(cfg, withPanicPoint(driver), mrand.New(mrand.NewPCG(uint64(r.res.Seed), 0x5eed)))
		if err != nil {
			return fmt.Errorf("workload: %w", err)
		}
		gen = kv
	}

	wctx, stopWorkload := context.WithCancel(ctx)
	defer stopWorkload()
	r.mu.Lock()
	r.stopRun = stopWorkload
	r.mu.Unlock()
	r.receiptCtx = ctx
	t0 := time.Now()
	r.setOrigin(t0.Add(r.plan.Warmup))
	schedDone := make(chan struct{})
	r.goSafe("the fault scheduler", func() { defer close(schedDone); r.schedule(wctx, t0, tracker) })
	progressDone := make(chan struct{})
	r.goSafe("the progress line", func() { r.progress(wctx, gen, progressDone) })
	actionsDone := make(chan struct{})
	r.goSafe("the actions", func() { defer close(actionsDone); r.runActions(wctx, t0) })
	probesDone := make(chan struct{})
	r.goSafe("the probes", func() { defer close(probesDone); r.runProbes(wctx, t0, target) })

	sum, runErr := gen.Run(wctx)
	if p, ok := errors.AsType[*crash.Panic](runErr); ok {
		r.crashed(p) // a workload worker's, or the cause of the run's end passed on
	}
	stopWorkload()
	<-progressDone
	<-probesDone
	<-schedDone
	<-actionsDone
	if sum != nil {
		r.summarize(sum)
	}
	for i, s := range r.e.SLOs {
		if i >= len(r.res.SLOs) {
			break // the workload did not summarize
		}
		switch {
		case s.SLI.Prometheus() && userCtx.Err() == nil:
			r.res.SLOs[i] = r.ratioSLO(context.Background(), s, t0.Add(r.plan.Warmup), time.Now())
		case s.SLI == experiments.SLIMetric:
			r.res.SLOs[i] = r.metricSLO(s)
		}
	}
	switch {
	case r.crash.Load() != nil:
		return r.crashErr()
	case userCtx.Err() != nil:
		r.res.Interrupted = true
		return ErrInterrupted
	case ctx.Err() != nil:
		r.res.StopCondition = &report.StopCondition{Reason: fmt.Sprintf("maxDuration %s reached", r.e.Abort.MaxDuration), At: time.Now().UTC()}
		return nil
	case r.stopped():
		return nil
	case runErr != nil:
		return fmt.Errorf("workload: %w", runErr)
	}
	return nil
}

// schedule applies and reverts the faults at their planned offsets from t0.
// A fault that fails to apply is recorded on its result (the verdict becomes
// inconclusive); one that fails to revert stays active for the final
// RevertAll.
func (r *runState) schedule(ctx context.Context, t0 time.Time, tracker *injectors.Tracker) {
	type event struct {
		at      time.Duration
		apply   bool
		planned experiments.PlannedFault
	}
	var events []event
	for _, pf := range r.plan.Faults {
		events = append(events, event{pf.Start, true, pf}, event{pf.End, false, pf})
	}
	// Reverts before applies at the same instant, so back-to-back faults on
	// one member do not overlap.
	sort.SliceStable(events, func(i, j int) bool {
		if events[i].at != events[j].at {
			return events[i].at < events[j].at
		}
		return !events[i].apply && events[j].apply
	})
	// Receipts outlive the workload's end (a revert's receipt is taken
	// after it) but not the run: they stop when the run is cancelled.
	receiptCtx := r.receiptCtx
	if receiptCtx == nil {
		receiptCtx = context.WithoutCancel(ctx)
	}
	for _, ev := range events {
		if !sleepUntil(ctx, t0.Add(ev.at)) {
			return
		}
		name := ev.planned.Name
		lateness := time.Since(t0.Add(ev.at))
		if ev.apply {
			f := r.injectorFault(ev.planned)
			r.baseline(ctx, tracker, f)
			err := tracker.Apply(ctx, f)
			now := time.Now().UTC()
			r.locked(func() {
				fr := r.faults[name]
				if err != nil {
					// Judged (inconclusive) through the fault's result; the run
					// goes on.
					fr.Error = err.Error()
				} else {
					fr.Applied = &now
					r.active[name] = true
				}
			})
			r.journal.AddAt(now, "fault-applied", map[string]any{"fault": name, "kind": ev.planned.Kind, "targets": ev.planned.Targets, "lateness": lateness.String(), "error": errString(err)})
			fields := logrus.Fields{"fault": name, "kind": ev.planned.Kind, "targets": ev.planned.Targets, "lateness": lateness, "t": r.tText(now), "utc": utcText(now)}
			if err != nil {
				r.log.WithFields(fields).WithError(err).Warn("fault not applied; nothing of it remains")
				continue
			}
			r.log.WithFields(fields).Info("fault applied")
			r.takeReceipt(receiptCtx, tracker, f, injectors.PhaseApplied)
			continue
		}
		if !r.isActive(name) {
			continue
		}
		r.awaitApplyReceipt(ctx, name)
		// A revert must not be cut short by the end of the workload: it gets
		// its own deadline.
		rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := tracker.Revert(rctx, name)
		cancel()
		now := time.Now().UTC()
		r.locked(func() {
			if err != nil {
				// Not a run error: the fault stays active in the tracker and the
				// final revertRemaining retries it (a member may have been down);
				// only that one's failure means a fault may remain.
				r.faults[name].RevertError = err.Error()
				r.log.WithError(err).WithField("fault", name).Warn("revert failed; retried when the run ends")
			} else {
				r.faults[name].Reverted = &now
				delete(r.active, name)
			}
		})
		r.journal.AddAt(now, "fault-reverted", map[string]any{"fault": name, "lateness": lateness.String(), "error": errString(err)})
		if err == nil {
			r.log.WithFields(logrus.Fields{"fault": name, "lateness": lateness, "t": r.tText(now), "utc": utcText(now)}).Info("fault reverted")
			r.takeReceipt(receiptCtx, tracker, r.injectorFault(ev.planned), injectors.PhaseReverted)
		}
	}
}

// sleepUntil waits until at, and reports false when ctx ends first (or
// has ended).
func sleepUntil(ctx context.Context, at time.Time) bool {
	if wait := time.Until(at); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return ctx.Err() == nil
}

// stopped reports whether the stop condition fired.
func (r *runState) stopped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.res.StopCondition != nil
}

func (r *runState) isActive(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.active[name]
}

// activeFaults are the names of the faults applied now, sorted.
func (r *runState) activeFaults() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	active := make([]string, 0, len(r.active))
	for n := range r.active {
		active = append(active, n)
	}
	sort.Strings(active)
	return active
}

// locked runs f holding r.mu, which a panic in f releases: the revert at
// the end of a crashed run needs it.
func (r *runState) locked(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f()
}

// revertRemaining reverts every fault still active, newest first, going on
// past failures, and records on each fault's result what happened: reverted
// now, or still in place with the error. The error joins one per fault left.
func (r *runState) revertRemaining(ctx context.Context, tracker *injectors.Tracker) error {
	// Apply receipts in flight measure their faults in place: let them
	// finish first (they are bounded).
	r.awaitReceipts()
	active := tracker.Active()
	var errs []error
	for i := len(active) - 1; i >= 0; i-- {
		name := active[i]
		err := tracker.Revert(ctx, name)
		now := time.Now().UTC()
		r.mu.Lock()
		revertedNow := false
		if fr := r.faults[name]; fr != nil {
			if err != nil {
				fr.StillApplied, fr.RevertError = true, err.Error()
			} else if fr.Applied != nil && (fr.Reverted == nil || fr.StillApplied) {
				// Reverted now; or on a retry, after an earlier final
				// revert (the read-back's) failed.
				fr.Reverted, fr.RevertError, fr.StillApplied = &now, "", false
				revertedNow = true
			}
		}
		delete(r.active, name)
		pf, planned := r.plannedFault(name)
		r.mu.Unlock()
		if revertedNow {
			r.log.WithFields(logrus.Fields{"fault": name, "final": true, "t": r.tText(now), "utc": utcText(now)}).Info("fault reverted")
		}
		if err != nil {
			errs = append(errs, err)
		} else if planned && r.receiptCtx != nil && r.receiptCtx.Err() == nil {
			// Not after an interruption: the user wants out, and the
			// revert's own errors say what is left.
			r.recordReceipt(ctx, tracker, r.injectorFault(pf), injectors.PhaseReverted, r.baselineOf(name))
		}
		r.journal.AddAt(now, "fault-reverted", map[string]any{"fault": name, "final": true, "error": errString(err)})
	}
	return errors.Join(errs...)
}

// finishFaults copies the fault results in plan order. A fault is marked
// reverted only where a revert succeeded (revertRemaining marks the ones it
// could not revert as still applied).
func (r *runState) finishFaults() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, pf := range r.plan.Faults {
		r.res.Faults = append(r.res.Faults, *r.faults[pf.Name])
	}
}

// injectorFault translates a planned fault for the injectors.
func (r *runState) injectorFault(pf experiments.PlannedFault) injectors.Fault {
	f := injectors.Fault{Name: pf.Name, Kind: string(pf.Kind), Targets: pf.Targets, Seed: r.res.Seed ^ int64(hashName(pf.Name))}
	for _, l := range pf.Links {
		if l.Proxy != "" {
			// A declared proxy of an external target.
			f.Links = append(f.Links, external.ProxyLink(l.Proxy))
			continue
		}
		f.Links = append(f.Links, faultplane.Link{From: l.From, To: l.To})
	}
	src := pf.Fault
	switch {
	case src.Partition != nil:
		f.Behavior = string(src.Partition.Behavior)
	case src.Latency != nil:
		f.Delay, f.Jitter = src.Latency.Delay, src.Latency.Jitter
	case src.Bandwidth != nil:
		f.BytesPerSecond = int64(src.Bandwidth.Rate)
	case src.Reset != nil:
		f.ResetTimeout = src.Reset.Timeout
	case src.ClockSkew != nil:
		f.Offset = src.ClockSkew.Offset
	case src.Corrupt != nil:
		f.Ratio = float64(src.Corrupt.Ratio)
	case src.HTTP != nil:
		f.HTTP = injectorHTTP(src.HTTP)
	}
	return f
}

// injectorHTTP translates an http fault's rule for the injector.
func injectorHTTP(h *experiments.HTTP) *injectors.HTTPFault {
	action, share := h.Action()
	hf := &injectors.HTTPFault{
		Method: string(h.Match.Method), PathPrefix: h.Match.PathPrefix, Headers: h.Match.Headers,
		Action: action, Percent: float64(share.Percent), FirstN: int64(share.FirstN),
	}
	switch {
	case h.Abort != nil:
		hf.Status = h.Abort.Status
	case h.Delay != nil:
		hf.Latency = h.Delay.Latency
	}
	return hf
}

// onSecond feeds each closed second to the judge, journals it and its
// burn, and fires the stop condition when the judge says so.
func (r *runState) onSecond(s *workload.Second) {
	a := s.All
	sec := judge.Second{
		Index: s.Index, Warmup: s.Warmup, Length: s.Length,
		Total: a.Total, OK: a.OK, Bad: a.Bad(), Dropped: a.Dropped,
		SLOs: make(map[string]judge.Tally, len(r.e.SLOs)),
	}
	if a.Latency != nil && a.Latency.TotalCount() > 0 {
		sec.P50 = workload.LatencyAt(a.Latency, 50)
		sec.P90 = workload.LatencyAt(a.Latency, 90)
		sec.P99 = workload.LatencyAt(a.Latency, 99)
		sec.P999 = workload.LatencyAt(a.Latency, 99.9)
	}
	for _, o := range r.e.SLOs {
		t := sloTally(s.All, s.Ops, s.Classes, o.Op)
		if o.SLI == experiments.SLILatency {
			t.Quantile = sloQuantile(o, s)
		}
		sec.SLOs[o.Name] = t
	}
	var step judge.Step
	var stop context.CancelFunc
	r.locked(func() {
		step = r.judge.AddSecond(sec)
		if step.Stop != nil {
			r.res.StopCondition = step.Stop
		}
		stop = r.stopRun
	})
	active := r.activeFaults()
	r.journal.Add("second", map[string]any{
		"second": s.Index, "warmup": s.Warmup, "sent": a.Sent, "ok": a.OK, "bad": a.Bad(), "dropped": a.Dropped,
		"p50": sec.P50.Seconds(), "p99": sec.P99.Seconds(), "faults": active,
	})
	for _, b := range step.Burns {
		r.journal.Add("burn", map[string]any{"second": s.Index, "slo": b.SLO, "burnRate": b.BurnRate, "window": judge.BurnWindowText(r.e.Abort.Window),
			"consumed": b.Consumed, "bad": b.Bad, "total": b.Total})
	}
	if sc := step.Stop; sc != nil {
		r.log.WithFields(logrus.Fields{"slo": sc.SLO, "burnRate": sc.Burn, "window": sc.Window, "t": r.tText(sc.At), "utc": utcText(sc.At)}).Warn("stop condition: reverting every fault and ending the run")
		r.journal.Add("stop-condition", map[string]any{"second": s.Index, "slo": sc.SLO, "burnRate": sc.Burn, "window": sc.Window})
		if stop != nil {
			stop()
		}
	}
}

// progress prints a progress line about once a second while the run lasts,
// and stops at the first write that fails (a closed terminal or pipe).
func (r *runState) progress(ctx context.Context, gen generator, done chan<- struct{}) {
	defer close(done)
	if r.opts.Progress == nil {
		return
	}
	warmup, duration := r.e.Workload.Warmup, r.e.Workload.Duration
	t := time.NewTicker(time.Second)
	defer t.Stop()
	defer r.opts.Progress.Clear()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p := gen.Progress()
		active := r.activeFaults()
		err := r.opts.Progress.Show(fmt.Sprintf("[%s] rate %.0f/s  errors %.2f%%  p99 %s  faults: %s",
			progressClock(p.Elapsed, warmup, duration, p.Warmup), p.SendRate, 100*p.ErrorRatio, p.P99.Round(100*time.Microsecond), orNone(active)))
		if err != nil {
			r.log.WithError(err).Warn("the progress line cannot be written; no more of it")
			return
		}
	}
}

// progressClock is the progress line's time at the run's one origin, the
// end of warmup (t = 0, as `at` in the experiment file): "t=-1s warmup",
// then "t=4s of 20s".
func progressClock(elapsed, warmup, duration time.Duration, inWarmup bool) string {
	// Whole seconds, rounded down: the second under way.
	t := time.Duration(math.Floor((elapsed - warmup).Seconds())) * time.Second
	if inWarmup || t < 0 {
		return fmt.Sprintf("t=%s warmup", t)
	}
	return fmt.Sprintf("t=%s of %s", t, duration)
}

// setOrigin records t = 0, the end of warmup: in result.json
// (measuredStart) and on every journal event from now on (t), announced
// by a workload-start event.
func (r *runState) setOrigin(t0 time.Time) {
	t0 = t0.UTC()
	r.locked(func() { r.res.MeasuredStart = &t0 })
	r.journal.SetOrigin(t0)
	r.journal.Add("workload-start", map[string]any{"measuredStart": t0, "warmup": r.plan.Warmup.String(), "duration": r.plan.Duration.String()})
}

// tText is t's offset from the end of warmup, for log lines: "t=4.012s".
func (r *runState) tText(t time.Time) string {
	r.mu.Lock()
	ms := r.res.MeasuredStart
	r.mu.Unlock()
	if ms == nil {
		return ""
	}
	return fmt.Sprintf("%.3fs", t.Sub(*ms).Seconds())
}

// utcText is a wall-clock time for log lines, in UTC to the millisecond.
func utcText(t time.Time) string { return t.UTC().Format("15:04:05.000Z") }

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ",")
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func hashName(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return h.Sum64()
}

// resultVariables is result.json's variables: vars, else the experiment's
// own; nil when there are none. A name a --set shares with a variable is
// keyed "--set NAME".
func resultVariables(vars, own []experiments.Variable) map[string]report.Variable {
	if vars == nil {
		vars = own
	}
	if len(vars) == 0 {
		return nil
	}
	out := make(map[string]report.Variable, len(vars))
	for _, v := range vars {
		key := v.Name
		if _, taken := out[key]; taken {
			key = v.From + " " + v.Name
		}
		out[key] = report.Variable{Value: v.Value, From: v.From}
	}
	return out
}
