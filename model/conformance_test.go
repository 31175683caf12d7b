package model

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// onnxNodeTests is where Debian's libonnx-testdata installs the ONNX backend
// node tests (scripts/setup --test installs it).
const onnxNodeTests = "/usr/share/libonnx-testdata/data/node"

func needNodeTests(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(onnxNodeTests); err != nil {
		t.Skipf("%s is absent: run scripts/setup --test to install the ONNX conformance data (libonnx-testdata)", onnxNodeTests)
	}
}

// TestConformance runs every ONNX backend node test through the engine. It
// fails on any test that runs and disagrees with ONNX; tests that need an op
// or a dtype the engine lacks are skipped and their reasons logged, grouped.
func TestConformance(t *testing.T) {
	needNodeTests(t)
	dirs, err := ExpandConformanceDirs([]string{onnxNodeTests})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		results []ConformanceResult
	)
	t.Run("node", func(t *testing.T) {
		for _, dir := range dirs {
			t.Run(filepath.Base(dir), func(t *testing.T) {
				t.Parallel()
				r := RunConformanceDir(dir)
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
				switch r.Status {
				case ConformanceFail:
					t.Error(r.String())
					for _, o := range r.Outputs {
						t.Logf("output %s: max abs err %.3g (tol %.3g) %s", o.Name, o.MaxAbsErr, o.Tol, o.Reason)
					}
				case ConformanceSkip:
					t.Skip(r.Reason)
				}
			})
		}
	})

	counts := map[ConformanceStatus]int{}
	skips := map[string][]string{}
	for _, r := range results {
		counts[r.Status]++
		if r.Status == ConformanceSkip {
			k := skipGroup(r)
			skips[k] = append(skips[k], r.Name)
		}
	}
	keys := make([]string, 0, len(skips))
	for k := range skips {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(skips[keys[i]]) != len(skips[keys[j]]) {
			return len(skips[keys[i]]) > len(skips[keys[j]])
		}
		return keys[i] < keys[j]
	})
	var b strings.Builder
	for _, k := range keys {
		names := skips[k]
		sort.Strings(names)
		if len(names) > 4 {
			names = append(names[:4:4], fmt.Sprintf("... %d more", len(skips[k])-4))
		}
		fmt.Fprintf(&b, "\n  %3d  %s  (%s)", len(skips[k]), k, strings.Join(names, ", "))
	}
	t.Logf("ONNX node tests: %d passed, %d failed, %d skipped; skip reasons:%s",
		counts[ConformancePass], counts[ConformanceFail], counts[ConformanceSkip], b.String())
}

// skipGroup is a skip reason without the parts that name the test itself,
// so that tests skipped for the same reason group together.
func skipGroup(r ConformanceResult) string {
	s := strings.ReplaceAll(r.Reason, filepath.Join(r.Dir, "model.onnx"), "")
	s = strings.ReplaceAll(s, r.Dir, "")
	s = strings.ReplaceAll(s, r.Name, "")
	s = nodeList.ReplaceAllString(s, "")
	return strings.TrimLeft(s, ":/ ")
}

// nodeList matches the " (node ...)" after each op of an unsupported-op
// error.
var nodeList = regexp.MustCompile(` \(node [^;]*\)`)

// copyTest copies an ONNX node test into a temporary directory, replacing
// test_data_set_0/<file> with the contents of test_data_set_0/<from> for
// each pair in swap.
func copyTest(t *testing.T, name string, swap map[string]string) string {
	t.Helper()
	src := filepath.Join(onnxNodeTests, name)
	dst := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(filepath.Join(dst, "test_data_set_0"), 0o755); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(src, "test_data_set_0", "*.pb"))
	files = append(files, filepath.Join(src, "model.onnx"))
	for _, f := range files {
		rel, _ := filepath.Rel(src, f)
		from := f
		if s, ok := swap[filepath.Base(f)]; ok {
			from = filepath.Join(src, "test_data_set_0", s)
		}
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, rel), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func TestConformanceRunner(t *testing.T) {
	needNodeTests(t)
	if _, ok := registry["Relu"]; !ok {
		t.Skip("Relu is not registered yet")
	}

	t.Run("pass", func(t *testing.T) {
		r := RunConformanceDir(filepath.Join(onnxNodeTests, "test_relu"))
		if r.Status != ConformancePass || r.String() != "pass test_relu" {
			t.Fatalf("got %q (%+v)", r.String(), r)
		}
		if len(r.Outputs) != 1 || r.Outputs[0].Name != "y" || r.Outputs[0].MaxAbsErr > 1e-6 {
			t.Errorf("outputs %+v", r.Outputs)
		}
	})

	t.Run("wrong values fail", func(t *testing.T) {
		// Expect relu(x) to equal x: x has negative values, so it fails by
		// the largest |x| among them.
		dir := copyTest(t, "test_relu", map[string]string{"output_0.pb": "input_0.pb"})
		r := RunConformanceDir(dir)
		if r.Status != ConformanceFail || r.Reason != "" {
			t.Fatalf("got %q (%+v)", r.String(), r)
		}
		if r.MaxAbsErr < 0.5 || !strings.HasPrefix(r.String(), "fail test_relu max abs err ") {
			t.Errorf("got %q", r.String())
		}
	})

	t.Run("missing data fails", func(t *testing.T) {
		dir := copyTest(t, "test_relu", nil)
		if err := os.Remove(filepath.Join(dir, "test_data_set_0", "output_0.pb")); err != nil {
			t.Fatal(err)
		}
		r := RunConformanceDir(dir)
		if r.Status != ConformanceFail || !strings.Contains(r.Reason, "0 outputs for the graph's 1") {
			t.Fatalf("got %q", r.String())
		}
	})

	t.Run("unsupported op skips", func(t *testing.T) {
		if _, ok := registry["Det"]; ok {
			t.Skip("Det is implemented")
		}
		r := RunConformanceDir(filepath.Join(onnxNodeTests, "test_det_2d"))
		if r.Status != ConformanceSkip || !strings.Contains(r.Reason, "Det") {
			t.Fatalf("got %q", r.String())
		}
	})

	t.Run("expand", func(t *testing.T) {
		dirs, err := ExpandConformanceDirs([]string{onnxNodeTests, filepath.Join(onnxNodeTests, "test_abs")})
		if err != nil {
			t.Fatal(err)
		}
		if len(dirs) < 500 || filepath.Base(dirs[0]) != "test_abs" || dirs[len(dirs)-1] != filepath.Join(onnxNodeTests, "test_abs") {
			t.Errorf("%d dirs from %s to %s", len(dirs), dirs[0], dirs[len(dirs)-1])
		}
		if _, err := ExpandConformanceDirs([]string{t.TempDir()}); err == nil || !strings.Contains(err.Error(), "holds no ONNX test") {
			t.Errorf("empty dir: %v", err)
		}
		if _, err := ExpandConformanceDirs([]string{filepath.Join(onnxNodeTests, "test_abs", "model.onnx")}); err == nil {
			t.Error("a file was accepted as a directory")
		}
	})
}

func TestCompareOutput(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	cases := []struct {
		name      string
		got, want *Tensor
		ok        bool
		err       float64
		reason    string
	}{
		{"equal", FromData([]float32{1, -2}, 2), FromData([]float32{1, -2}, 2), true, 0, ""},
		{"absolute within", FromData([]float32{0.5 + 9e-5}, 1), FromData([]float32{0.5}, 1), true, 9e-5, ""},
		{"absolute beyond", FromData([]float32{0.5 + 2e-4}, 1), FromData([]float32{0.5}, 1), false, 2e-4, ""},
		// max |want| = 1000, so the tolerance is 0.1.
		{"relative within", FromData([]float32{1000, 3.05}, 2), FromData([]float32{1000, 3}, 2), true, 0.05, ""},
		{"relative beyond", FromData([]float32{1000, 3.2}, 2), FromData([]float32{1000, 3}, 2), false, 0.2, ""},
		{"nan matches nan", FromData([]float32{nan, 1}, 2), FromData([]float32{nan, 1}, 2), true, 0, ""},
		{"nan where a number is due", FromData([]float32{nan}, 1), FromData([]float32{1}, 1), false, math.Inf(1), ""},
		{"inf matches inf", FromData([]float32{inf, -inf}, 2), FromData([]float32{inf, -inf}, 2), true, 0, ""},
		{"wrong-signed inf", FromData([]float32{-inf}, 1), FromData([]float32{inf}, 1), false, math.Inf(1), ""},
		{"int64 exact", FromInts([]int64{3, 1 << 40}, 2), FromInts([]int64{3, 1 << 40}, 2), true, 0, ""},
		{"int64 off by one", FromInts([]int64{3, 5}, 2), FromInts([]int64{3, 4}, 2), false, 1, ""},
		{"shape", FromData([]float32{1, 2}, 2, 1), FromData([]float32{1, 2}, 2), false, 0, "shape 2x1, want 2"},
		{"dtype", FromData([]float32{1}, 1), FromInts([]int64{1}, 1), false, 0, "dtype float32, want int64"},
	}
	for _, c := range cases {
		r := compareOutput(c.got, c.want)
		if r.OK != c.ok || r.Reason != c.reason || math.Abs(r.MaxAbsErr-c.err) > 1e-6 && !(math.IsInf(c.err, 1) && math.IsInf(r.MaxAbsErr, 1)) {
			t.Errorf("%s: got ok=%v err=%g reason=%q, want ok=%v err=%g reason=%q", c.name, r.OK, r.MaxAbsErr, r.Reason, c.ok, c.err, c.reason)
		}
	}
}

func TestConformanceResultString(t *testing.T) {
	cases := map[string]ConformanceResult{
		"pass test_a":                              {Name: "test_a", Status: ConformancePass},
		"fail test_b max abs err 0.00123":          {Name: "test_b", Status: ConformanceFail, MaxAbsErr: 0.00123},
		`fail test_c: output "y": shape 2, want 3`: {Name: "test_c", Status: ConformanceFail, Reason: `output "y": shape 2, want 3`},
		"skip test_d: unsupported op Det":          {Name: "test_d", Status: ConformanceSkip, Reason: "unsupported op Det"},
	}
	for want, r := range cases {
		if got := r.String(); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if pbIndex("a/input_12.pb") != 12 || pbIndex("x/test_data_set_3") != 3 || pbIndex("model.onnx") != -1 {
		t.Error("pbIndex")
	}
}
