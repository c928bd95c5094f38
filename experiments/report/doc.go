// Package report renders a run: the result.json schema (Result), the journal
// of events (journal.ndjson), and the terminal summary. Every renderer reads
// a Result, so `chaosctl report DIR` can re-render a finished run from its
// output folder.
//
// result.json is a stable schema: fields are only ever added. Times are
// RFC 3339 with milliseconds in UTC; fractions are fractions (consumed 1.0 is
// the whole budget), durations in probe values are seconds.
package report
