// Package cli holds the subcommands of cmd/wavenet: each parses its flags
// into a config and calls the package that does the work. Each subcommand
// lives in its own file and is listed in the commands table (cli.go), so
// that cmd/wavenet/main.go stays a few lines long.
package cli
