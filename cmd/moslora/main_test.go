package main

import (
	"os"
	"testing"
)

// TestMain lets the test binary stand in for moslora: with MOSLORA_TEST_AS_CLI=1 in its
// environment it runs the CLI on its arguments, so tests of commands that start `moslora`
// children (sweep runs each cell as `moslora train …` via os.Executable) exercise this build.
func TestMain(m *testing.M) {
	if os.Getenv("MOSLORA_TEST_AS_CLI") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}
