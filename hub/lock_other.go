//go:build !unix && !windows

package hub

import "os"

// Platforms without file locks (plan9, wasm) take none: two processes downloading the same blob
// there are not kept apart.
func tryLock(*os.File) (bool, error) { return true, nil }
func unlock(*os.File)                {}
