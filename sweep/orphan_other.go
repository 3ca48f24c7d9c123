//go:build !linux

package sweep

import "os/exec"

// stopWithParent does nothing where the OS has no parent-death signal: a child of a killed sweep
// runs to its end (and a rerun started meanwhile may resume the same cell twice).
func stopWithParent(cmd *exec.Cmd) {}
