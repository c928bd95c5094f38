// Package hostload reads how busy the machine running chaosctl is: its
// 1-minute load average (/proc/loadavg, Linux) beside its CPU count. A run
// records it at its start and end (result.json's host), and a verdict that
// the machine may have decided names it.
package hostload
