package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

// runVersion prints the version, the VCS revision the binary was built
// from when known, and the Go version.
func runVersion(c *cli, args []string) error {
	fs := newFlags("version")
	if _, err := c.parse(fs, args); err != nil {
		return err
	}
	v := version
	if info, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			v += " (" + rev
			if dirty {
				v += ", modified"
			}
			v += ")"
		}
	}
	fmt.Fprintf(c.stdout, "deepscope %s %s %s/%s\n", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
