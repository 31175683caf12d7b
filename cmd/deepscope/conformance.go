package main

import (
	"fmt"
	"path/filepath"
	"regexp"

	"github.com/deepscope/deepscope/model"
)

// runConformance runs ONNX backend test directories and prints one line per
// test and a summary; the exit status is 1 when any test fails.
func runConformance(c *cli, args []string) error {
	fs := newFlags("conformance")
	verbose := fs.Bool("v", false, "print each output's error and tolerance for failed tests")
	filter := fs.String("run", "", "run only the tests whose name matches this `regexp`")
	dirs, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(dirs) == 0 {
		return fmt.Errorf("conformance: no DIR given (for example %s)", "/usr/share/libonnx-testdata/data/node")
	}
	var re *regexp.Regexp
	if *filter != "" {
		if re, err = regexp.Compile(*filter); err != nil {
			return fmt.Errorf("conformance: --run: %v", err)
		}
	}
	tests, err := model.ExpandConformanceDirs(dirs)
	if err != nil {
		return fmt.Errorf("conformance: %w", err)
	}
	counts := map[model.ConformanceStatus]int{}
	for _, dir := range tests {
		if re != nil && !re.MatchString(filepath.Base(dir)) {
			continue
		}
		r := model.RunConformanceDir(dir)
		counts[r.Status]++
		fmt.Fprintln(c.stdout, r.String())
		if *verbose && r.Status == model.ConformanceFail {
			for _, o := range r.Outputs {
				fmt.Fprintf(c.stdout, "    output %s: max abs err %.3g, tolerance %.3g %s\n", o.Name, o.MaxAbsErr, o.Tol, o.Reason)
			}
		}
	}
	fmt.Fprintf(c.stdout, "%d passed, %d failed, %d skipped\n",
		counts[model.ConformancePass], counts[model.ConformanceFail], counts[model.ConformanceSkip])
	if counts[model.ConformanceFail] > 0 {
		return exitStatus(1)
	}
	return nil
}
