// Package version reports the moslora build: the module version and the commit it was built
// from, as the Go toolchain records them (runtime/debug.ReadBuildInfo).
//
// # Invariants
//
//   - String never fails: unknown parts read "unknown" (a binary built without VCS stamping).
package version

import (
	"runtime/debug"
	"strings"
)

// Info is what the build recorded.
type Info struct {
	Version  string `json:"version"`  // module version, "(devel)" for a build from a checkout
	Commit   string `json:"commit"`   // VCS revision, "unknown" when not stamped
	Modified bool   `json:"modified"` // the checkout had uncommitted changes
	Go       string `json:"go"`       // toolchain version
}

// Read returns the build's Info.
func Read() Info {
	in := Info{Version: "unknown", Commit: "unknown", Go: "unknown"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return in
	}
	in.Go = bi.GoVersion
	if bi.Main.Version != "" {
		in.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			in.Commit = s.Value
		case "vcs.modified":
			in.Modified = s.Value == "true"
		}
	}
	return in
}

// String is "VERSION (commit C[, modified], GO)".
func (in Info) String() string {
	var b strings.Builder
	b.WriteString(in.Version + " (commit " + in.Commit)
	if in.Modified {
		b.WriteString(", modified")
	}
	b.WriteString(", " + in.Go + ")")
	return b.String()
}
