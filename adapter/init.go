package adapter

import (
	"hash/fnv"
	"math/rand/v2"
)

// newRNG returns the deterministic generator for one module: a PCG seeded by the adapter seed
// and a hash of (purpose, module path), so adding a module never changes another's numbers.
func newRNG(seed int64, purpose, path string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write([]byte(path))
	return rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
}
