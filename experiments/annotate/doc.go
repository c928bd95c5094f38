// Package annotate posts a run's fault windows to a Grafana-compatible
// annotations API, so the windows show on the user's own dashboards beside
// the metrics they moved.
//
// Each fault that was applied becomes one region annotation: POST
// URL/api/annotations with {"time", "timeEnd", "tags", "text"}, times in
// milliseconds since the epoch, the instants the result and the journal
// record for the fault's apply and revert (a fault left in place ends at
// the run's end, and its text says so). The tags are chaosctl, the fault's
// kind, name and targets, the experiment and the run id: kind:latency,
// fault:slow-n1, target:n1, experiment:quickstart, run:<id>. A token, when
// given, is sent as "Authorization: Bearer <token>" (a Grafana service
// account token).
//
// Posting is best effort: every request has its own timeout, the whole
// posting a budget, and the caller logs what failed as a warning; a run's
// verdict never depends on it.
//
//	c := annotate.Client{URL: "http://grafana:3000", Token: os.Getenv("CHAOSCTL_ANNOTATE_TOKEN")}
//	posted, err := c.PostAll(ctx, annotate.Faults(res, runID))
package annotate
