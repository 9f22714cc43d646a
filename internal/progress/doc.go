// Package progress reports the progress of long jobs: a one-line bar with
// rate and ETA when standard error is a terminal, structured log lines
// (log/slog) at a fixed interval otherwise.
package progress
