// Package allocs measures how many heap bytes a call allocates, for fuzz targets that assert a
// parser's memory stays bounded by a multiple of its input. It is imported by tests only, so it is
// never linked into the moslora binary.
//
// # Invariants
//
//   - Bytes counts every heap allocation made while f runs, by any goroutine (the runtime's
//     cumulative /gc/heap/allocs:bytes counter), so it over-counts, never under-counts, f's own.
package allocs

import (
	"fmt"
	"runtime/metrics"
)

const allocBytes = "/gc/heap/allocs:bytes"

// Bytes returns the heap bytes allocated while f ran.
func Bytes(f func()) uint64 {
	s := []metrics.Sample{{Name: allocBytes}}
	metrics.Read(s)
	before := s[0].Value.Uint64()
	f()
	metrics.Read(s)
	return s[0].Value.Uint64() - before
}

// Bound is the memory budget of a parser: at most PerByte heap bytes per input byte plus Fixed.
type Bound struct {
	PerByte uint64 // multiple of the input size
	Fixed   uint64 // constant slack (tables, small maps, error strings)
}

// Check runs f and returns an error naming what when it allocated more than b allows for an
// input of n bytes.
func (b Bound) Check(what string, n int, f func()) error {
	got := Bytes(f)
	if limit := b.PerByte*uint64(n) + b.Fixed; got > limit {
		return fmt.Errorf("%s allocated %d bytes for a %d-byte input (bound %d = %d·n + %d)", what, got, n, limit, b.PerByte, b.Fixed)
	}
	return nil
}
