// Package experiments is the experiment model of chaosctl: it reads an
// experiment file (format version 1, apiVersion chaosctl/v1) strictly,
// validates it, fills in its defaults, and resolves its random choices
// into a Plan.
//
// # Use
//
//	exp, err := experiments.Load("examples/quickstart.yaml")
//	var verr *experiments.ValidationError
//	if errors.As(err, &verr) {
//		// verr.Problems, one per mistake, sorted by position;
//		// err.Error() prints them as FILE:LINE:COL: message.
//	}
//	seed := 42 // --seed, else *exp.Seed, else random; print it
//	plan, err := exp.Plan(seed)
//	err = plan.Format(os.Stdout) // the --dry-run text
//
// Load reads at most MaxFileSize+1 bytes of a regular file (ReadFile
// refuses a FIFO, a device, a socket or a folder before reading it);
// Decode takes bytes already read.
// Both return either a valid *Experiment with every default filled in, or a
// *ValidationError listing every problem (up to 100), each naming the
// field path (faults[2].partition.groups[0][1]) and what is allowed. The
// package prints nothing.
//
// An entry slos: [{openslo: FILE}] is replaced by the SLOs of an OpenSLO v1
// file (openslo.go) before the decode, from that file's own nodes: their
// problems name FILE, its line and column. ExportOpenSLO writes a file's
// ratio and threshold SLOs back as OpenSLO.
//
// # Strictness
//
// The decoder walks the yaml.Node tree itself, guided by the model's types
// and their yaml tags, so every value has a line and column. Errors are:
// unknown fields at any depth (with the allowed fields and a "did you
// mean" hint), duplicate keys, wrong types (a quoted number where a number
// belongs, a number without a unit where a duration belongs), values
// outside their range, unknown names in selectors and partition groups,
// faults outside the workload, contradictory faults, impossible quorums,
// more than one YAML document, files over MaxFileSize (1 MiB), lists or
// mappings over MaxListItems, more than MaxFaults faults, and aliases that
// expand to more than 20000 values (alias bombs stop within milliseconds).
// YAML anchors, aliases and merge keys (<<) are otherwise allowed. An
// empty section ("faults:" with every item commented out) counts as
// absent. A misspelt key is reported once, as an unknown field with a
// hint, not again as the required field it probably was.
//
// # Variables
//
// Any value may be, or contain, ${NAME} (the environment variable NAME),
// ${NAME:-default} (the default when NAME is unset or empty) or
// ${secret:NAME}; $$ is a literal $ (variables.go). They are substituted in
// the parsed node tree before the strict decode, so a problem points at
// the reference's $ and a substituted value is read as the field's type.
// DecodeWith also applies --set PATH=VALUE overrides (set.go), whose
// problems carry Problem.Origin instead of a position. Experiment.Variables
// lists what was used and ResolvedSource is the file with it filled in.
//
// # Secrets
//
// An unset ${secret:NAME} variable or a malformed reference is a problem
// at the reference's $. The values secrets gave,
// the members' env: values and the values of sensitive HTTP headers
// (SensitiveHeader) are the experiment's sensitive values:
// Experiment.Redactor replaces them by [REDACTED] (values of at least
// MinRedactLen bytes, raw or escaped as JSON, HTML, XML or Go quote them),
// RedactSource gives the file as it may be copied, and problems and the
// --dry-run text (Plan.Format) are redacted already.
//
// # Units
//
// Durations are Go durations ("250ms", "2s"; a bare 0 is allowed).
// Percentages are "99.5%" or 0.995 and decode to a Percent holding the
// fraction. Sizes are 32 or "64KiB" (ByteSize); bandwidth is "64KiB/s"
// (ByteRate). Probe bounds are a Threshold in the metric's unit: latency
// metrics take durations (held in seconds), ratios take 1% or 0.01, counts
// and rates take plain numbers.
//
// # Time and faults
//
// A fault's at is an offset from the end of warmup. A fault must start
// before the workload ends (0 <= at < workload.duration) and end no later
// than it (at + duration <= workload.duration; for crash, at +
// restartAfter). A run lasts at most MaxRunDuration (24h): warmup +
// duration, and each at, duration and restartAfter, may not exceed it, so
// no sum validation or the plan makes can overflow. A missing duration means until the workload ends; crash
// and corrupt take none (crash ends at restartAfter, or stays down;
// corrupt is instantaneous), and restart's duration is the time between
// its graceful stop and start (0 without one). Decode fills
// Fault.Duration in accordingly.
//
// Selectors are nodes: [...], pick: {count, from} (count defaults to 1,
// from to the store nodes, or to the external members or proxies) or, for
// external targets, proxies: [...]. On the demo cluster, link faults
// (latency, bandwidth, reset, blackhole) select n*, g* or client and act on
// every link with a selected member at either end; crash, pause, restart
// and clockSkew select n* or g*; corrupt selects n*. On an external target
// link faults select proxies and crash, pause, restart select members;
// partition, clockSkew, corrupt and checks need the demo cluster.
//
// Contradictions are errors: one member crashed, paused or restarted by
// two faults whose windows overlap (a crash without restartAfter lasts to
// the end), and overlapping clock skews of one member. A pick counts as
// touching every candidate, since the choice is made later. Two
// partitions may overlap in time only when both give explicit groups that
// name disjoint members: healing one partition must not heal links the
// other still cuts. Latency, bandwidth, reset and blackhole may overlap
// freely (their toxics stack).
//
// # Plan
//
// Experiment.Plan(seed) lists the members (g1.., n1.., or the external
// members), the fault plane's links (client->g*, g*->n*, every ordered
// n*->n*; or the declared proxies) and each fault with its window from the
// start of the run (warmup + at, what the scheduler waits for) and its
// concrete targets and links. Plan.Format, the --dry-run text, shows the
// windows at the one origin of every output, t = 0 at the end of warmup
// (Plan.T: the fault's at). Picks
// and partition modes are drawn from a PCG stream seeded by the seed and
// the fault's name. Modes work on the store nodes: isolate (one node vs the
// rest), majority-minority (groups: majority, minority), halves, ring (each
// node keeps only its two ring neighbours) and bridge (two halves, one
// bridge node that sees both). A partition cuts every plane link between
// members of different groups; oneWay cuts only the first group's outgoing
// links. Behaviour isolate instead takes the first group's members off the
// network: its targets are those members and its links every link from or to
// them (the docker runtime disconnects their containers).
//
// Defaults are exported (DefaultNodes, DefaultResilienceTimeout, ...,
// DefaultDemoCluster) so the command line uses the same values for flags.
//
// # Reference and schema
//
// ExperimentFields and GameDayFields walk the model's types the way the
// decoder reads a file (the same yaml tags, inline embeddings, unit types,
// ranges and enums) into a tree of fields named by dotted paths with [] for
// list items (faults[].partition.groups). The references, docs/format.md
// and docs/gameday.md (embedded by package docs), document each path in a
// table row; tests fail for a field the reference lacks, a row the decoder
// does not know, a wrong type or enum, and a stated default that is not the
// one Decode fills in. ExperimentSchema and GameDaySchema turn the same tree
// and the rows' descriptions, defaults and required flags into a JSON
// Schema (draft 2020-12) for editors: `chaosctl schema`.
package experiments
