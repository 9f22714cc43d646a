//go:build !linux

package compress

import "time"

// threadCPU is not available: MeasureSpeed reports wall-clock rates only.
func threadCPU() time.Duration { return 0 }
