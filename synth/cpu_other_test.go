//go:build !unix

package synth

import "time"

var cpuStart = time.Now()

// processCPU falls back to wall time where getrusage does not exist.
func processCPU() float64 { return time.Since(cpuStart).Seconds() }
