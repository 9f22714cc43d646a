//go:build !unix

package cnntrain

import "time"

// processCPU is not available: PredictCPU reports an error.
func processCPU() time.Duration { return 0 }
