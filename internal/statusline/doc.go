// Package statusline shows a run's progress line to a person without
// colliding with the log lines written meanwhile.
//
// On a terminal (Terminal) the line is redrawn in place, and every log
// line is written above it: the line is cleared, the log line written, and
// the line drawn again below it. Off a terminal (Plain: a pipe, a file, a
// CI log) no carriage return is ever written: the line is logged as a
// plain status line at most once per interval.
package statusline
