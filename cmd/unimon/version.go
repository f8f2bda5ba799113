package main

import (
	"runtime/debug"
	"strings"
)

// versionString is the version --version prints: the one the Makefile
// links in, else what the Go toolchain recorded. `go install
// github.com/unimon/unimon/cmd/unimon@v1.2.3` records the module version; a
// `go build` in a git checkout records the commit.
func versionString() string {
	if version != "dev" && version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	return versionFromBuildInfo(bi)
}

func versionFromBuildInfo(bi *debug.BuildInfo) string {
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	var dirty bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	var b strings.Builder
	b.WriteString("devel-")
	b.WriteString(rev[:min(len(rev), 12)])
	if dirty {
		b.WriteString("-dirty")
	}
	return b.String()
}
