package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// Command is one subcommand: `wavenet NAME args...`.
type Command struct {
	Name    string // first word after wavenet, e.g. "data"
	Summary string // one line for `wavenet help`
	// Run does the work. ctx is cancelled on SIGINT or SIGTERM; a command
	// that is interrupted saves what it has finished and returns ctx.Err().
	Run func(ctx context.Context, env *Env, args []string) error
}

// Env is what a command may touch of the outside world.
type Env struct {
	Stdout, Stderr io.Writer
	Stdin          io.Reader
}

// commands is the table of subcommands: the one place a command is added.
var commands = byName([]Command{
	{Name: "average", Summary: "average the weights of checkpoints of one run (Polyak averaging) into a new model directory", Run: runAverage},
	{Name: "classify", Summary: "train, quantize and report the spectrogram CNN judges of eval and samples (classify train, quantize, report)", Run: runClassify},
	{Name: "compress", Summary: "quantize (int8, fp16, bf16), prune or distill a model; report size, bits/sample and speed", Run: runCompress},
	{Name: "data", Summary: "inspect a directory of training WAVs (data inspect DIR)", Run: runData},
	{Name: "detect", Summary: "evaluate object detections (VOC, COCO) and run NMS", Run: runDetect},
	{Name: "eval", Summary: "is it intelligible? digit and speaker recognition of WAVs named {digit}_{speaker}_*.wav", Run: runEval},
	{Name: "generate", Summary: "synthesize audio with a model (fast queue generation) into a 16-bit WAV", Run: runGenerate},
	{Name: "loadtest", Summary: "load-test a local synthesis service: throughput, latency and errors for several client counts", Run: runLoadtest},
	{Name: "rl", Summary: "train and evaluate reinforcement-learning agents (rl train, rl eval)", Run: runRL},
	{Name: "samples", Summary: "listening tests: one WAV per (speaker, digit) and sentences, spectrogram PNGs, README.md with the classifier's verdicts", Run: runSamples},
	{Name: "say", Summary: "say a sequence of digits (labels) with a conditioned model, e.g. wavenet say \"4 2 7\" --speaker jackson --out phone.wav", Run: runSay},
	{Name: "score", Summary: "bits per sample of WAV recordings under a model (teacher-forced), per file, label and overall", Run: runScore},
	{Name: "serve", Summary: "run the synthesis service (REST API on echo; the embedded default model unless --models)", Run: runServe},
	{Name: "vocode", Summary: "mel spectrograms (.npy, .json) or recordings (copy synthesis) to audio with a vocoder, or Griffin-Lim", Run: runVocode},
	{Name: "worker", Summary: "run durable jobs (train, compress, rl, synthesize) from NATS JetStream: --nats URL of a serve's or a cluster's NATS", Run: runWorker},
	{Name: "train", Summary: "train a WaveNet on a directory of WAV files (resumable checkpoints)", Run: runTrain},
})

func byName(cs []Command) map[string]Command {
	m := make(map[string]Command, len(cs))
	for _, c := range cs {
		m[c.Name] = c
	}
	return m
}

// ErrUsage marks an error caused by wrong arguments: Main prints it and
// exits with status 2.
var ErrUsage = errors.New("usage")

// Usagef returns an error wrapping ErrUsage.
func Usagef(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUsage}, args...)...)
}

// NewFlagSet returns a flag set for a subcommand that reports errors instead
// of exiting, and prints its usage to env.Stderr.
func NewFlagSet(env *Env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: wavenet %s\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// Main runs the subcommand named by args[0] and returns the process exit
// status.
func Main(args []string) int {
	env := &Env{Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printHelp(env.Stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(env.Stderr, "wavenet: unknown command %q\n", args[0])
		printHelp(env.Stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := c.Run(ctx, env, args[1:])
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, ErrUsage):
		fmt.Fprintf(env.Stderr, "wavenet %s: %v\n", c.Name, err)
		return 2
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(env.Stderr, "wavenet %s: interrupted\n", c.Name)
		return 130
	default:
		fmt.Fprintf(env.Stderr, "wavenet %s: %v\n", c.Name, err)
		return 1
	}
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "usage: wavenet COMMAND [flags] [args]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].Summary)
	}
	fmt.Fprintln(w, "\nRun 'wavenet COMMAND -h' for a command's flags.")
}
