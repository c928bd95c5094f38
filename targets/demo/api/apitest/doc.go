// Package apitest holds what tests of the demo cluster share about its
// HTTP API: Outcome, how a client that sees only an answer classifies it
// for a linearizability check. It is imported by tests only.
package apitest
