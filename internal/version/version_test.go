package version

import (
	"strings"
	"testing"
)

func TestStringNamesVersionCommitAndToolchain(t *testing.T) {
	in := Info{Version: "v1.2.3", Commit: "abc123", Modified: true, Go: "go1.26"}
	if got := in.String(); got != "v1.2.3 (commit abc123, modified, go1.26)" {
		t.Fatalf("%q", got)
	}
	// A test binary has build info (at least the toolchain) even without VCS stamping.
	if r := Read(); !strings.HasPrefix(r.Go, "go") {
		t.Fatalf("Read gave %+v", r)
	}
}
