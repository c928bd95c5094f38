// Package slo judges runs: SLO error budgets and burn rates, verdicts, and the
// consistency checkers that turn a recorded operation history into a verdict.
//
// The linearizability checker models each key as a register with put, get and
// delete, partitions the history by key and checks every partition with
// github.com/anishathalye/porcupine. Operations whose outcome is unknown (a
// write that timed out, or failed after reaching some replicas) may or may not
// have taken effect: they are given an open end, as Jepsen does with :info.
package slo
