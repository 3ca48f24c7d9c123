package mpi

import (
	"os"
	"testing"
)

// unsetAll removes every launcher variable for the rest of the test (restored afterwards).
func unsetAll(t *testing.T) {
	for _, v := range append(append([]string{}, launchVars...), rankVars...) {
		if old, ok := os.LookupEnv(v); ok {
			t.Cleanup(func() { os.Setenv(v, old) })
		}
		os.Unsetenv(v)
	}
}
