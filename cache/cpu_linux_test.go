package cache

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// threadCPU locks the benchmark to its OS thread and returns a function
// giving the thread's CPU time (user+system) in seconds since the call:
// on a machine shared with other jobs, a rate per CPU second is a steadier
// comparison than one per wall-clock second.
func threadCPU(b *testing.B) func() float64 {
	runtime.LockOSThread()
	b.Cleanup(runtime.UnlockOSThread)
	const rusageThread = 1 // RUSAGE_THREAD
	now := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(rusageThread, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := now()
	return func() float64 { return (now() - start).Seconds() }
}
