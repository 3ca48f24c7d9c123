//go:build !unix

package tokenizer

import "time"

// processCPUTime is unavailable here; benchmarks then report wall-clock MB/s only.
func processCPUTime() time.Duration { return 0 }
