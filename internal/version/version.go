// Package version holds the build's version, set with -ldflags at build time.
package version

import "runtime/debug"

// Version is set by the build (see Taskfile.yml); otherwise it comes from the
// module's build info, or "dev".
var Version = ""

// String returns the version of this binary.
func String() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
