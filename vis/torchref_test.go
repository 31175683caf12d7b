package vis

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/deepscope/deepscope/model"
)

// Whole-method tests against PyTorch: scripts/vis_refs.py implements every
// method of this package anew in PyTorch, in float64, on a rebuild of the
// ONNX network (an ONNX interpreter over torch.nn.functional), and records
// the raw maps (what `deepscope render --npy` writes). The methods here must
// reproduce them.
//
// vis/testdata/torch/squeezenet1_1 (the committed 68x68 squeezenet of
// testdata/torch, on that fixture's input) always runs. tiny_darknet (224x224,
// LeakyRelu 0.1, on photos/dog.jpg) lives in $DEEPSCOPE_TORCH_REFS/vis (default
// .cache/torch/vis), made by `make testdata-torch`; it is skipped when absent
// and in -short mode, and runs only its one-pass methods under -race.
// $DEEPSCOPE_VIS_REFS overrides the folder of both (e.g. references made with
// `scripts/vis_refs.py --break relu`, which this test must reject).

// Tolerances. CAM-family and occlusion maps cross no float32-sensitive kink
// after the layer they read: max |error| relative to the map's max |value|.
// Input-gradient maps go back through every ReLU and MaxPool, where a decision
// that flips between float32 and float64 changes a few pixels: relative L2
// error (SmoothGrad and IG with the same noise samples and steps).
const (
	torchRefHeatTol  = 1e-3
	torchRefInputTol = 5e-2
	torchRefScoreTol = 1e-4
)

type torchRefParams struct {
	Model      string         `json:"model"`
	Input      string         `json:"input"`
	Class      int            `json:"class"`
	LogitLayer string         `json:"logit_layer"`
	Broken     string         `json:"broken"`
	Cases      []torchRefCase `json:"cases"`
}

type torchRefCase struct {
	Name     string `json:"name"`
	Method   string `json:"method"`
	CamLayer string `json:"cam_layer"` // the layer the reference used
	// RequestCamLayer is Request.CamLayer ("" tests DefaultCamLayer).
	RequestCamLayer string `json:"request_cam_layer"`
	Target          struct {
		Layer string `json:"layer"`
		Unit  int    `json:"unit"`
		Class bool   `json:"class"`
	} `json:"target"`
	Samples int     `json:"samples"`
	Sigma   float64 `json:"sigma"`
	Seed    uint64  `json:"seed"`
	Steps   int     `json:"steps"`
	Patch   int     `json:"patch"`
	Stride  int     `json:"stride"`
	Score   float64 `json:"score"`
	File    string  `json:"file"`
	Kind    string  `json:"kind"`
}

func TestTorchRefMethods(t *testing.T) {
	override := os.Getenv("DEEPSCOPE_VIS_REFS")
	t.Run("squeezenet1_1", func(t *testing.T) {
		dir := filepath.Join("testdata", "torch", "squeezenet1_1")
		if override != "" {
			dir = filepath.Join(override, "squeezenet1_1")
		}
		if _, err := os.Stat(filepath.Join(dir, "params.json")); err != nil {
			t.Fatalf("references missing: %v (regenerate with /usr/bin/python3 scripts/vis_refs.py --out vis/testdata/torch --models squeezenet1_1)", err)
		}
		torchRefCheck(t, dir, false)
	})
	t.Run("tiny_darknet", func(t *testing.T) {
		root := override
		if root == "" {
			cache := os.Getenv("DEEPSCOPE_TORCH_REFS")
			if cache == "" {
				cache = filepath.Join("..", ".cache", "torch")
			}
			root = filepath.Join(cache, "vis")
		}
		dir := filepath.Join(root, "tiny_darknet")
		if _, err := os.Stat(filepath.Join(dir, "params.json")); err != nil {
			t.Skipf("no PyTorch references in %s: run `make testdata-torch` or /usr/bin/python3 scripts/vis_refs.py --models tiny_darknet (needs python3-torch, python3-onnx and the shared data)", dir)
		}
		if testing.Short() {
			t.Skip("224x224 model skipped in -short mode")
		}
		// Under the race detector a 224x224 pass costs seconds and adds
		// nothing the squeezenet does not cover: only the one-pass methods
		// run there (all of them with DEEPSCOPE_TORCH_RACE=1).
		onePass := torchRefRace() && os.Getenv("DEEPSCOPE_TORCH_RACE") == ""
		torchRefCheck(t, dir, onePass)
	})
}

// torchRefRace reports whether the test binary was built with -race.
func torchRefRace() bool {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, st := range bi.Settings {
			if st.Key == "-race" {
				return st.Value == "true"
			}
		}
	}
	return false
}

// torchRefMultiPass are the methods that run many forward passes.
var torchRefMultiPass = map[string]bool{"smoothgrad": true, "ig": true, "scorecam": true, "occlusion": true}

// torchRefPath resolves a params.json location: "repo:" (the repository
// root), "shared:" ($DEEPSCOPE_SHARED) or "refs:" (the references' folder).
func torchRefPath(t *testing.T, dir, ref string) string {
	t.Helper()
	switch {
	case strings.HasPrefix(ref, "repo:"):
		return filepath.Join("..", filepath.FromSlash(ref[len("repo:"):]))
	case strings.HasPrefix(ref, "shared:"):
		p := filepath.Join(sharedDir(), filepath.FromSlash(ref[len("shared:"):]))
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s is absent (set DEEPSCOPE_SHARED to the shared folder)", p)
		}
		return p
	case strings.HasPrefix(ref, "refs:"):
		return filepath.Join(dir, filepath.FromSlash(ref[len("refs:"):]))
	}
	t.Fatalf("%s: bad location %q (want repo:, shared: or refs:)", dir, ref)
	return ""
}

// torchRefCheck compares every case of the references in dir (only those
// of one-pass methods when onePass is set).
func torchRefCheck(t *testing.T, dir string, onePass bool) {
	data, err := os.ReadFile(filepath.Join(dir, "params.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p torchRefParams
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatalf("%s/params.json: %v", dir, err)
	}
	if len(p.Cases) == 0 {
		t.Fatalf("%s/params.json lists no cases", dir)
	}
	if p.Broken != "" {
		t.Logf("these references are deliberately broken (%s): failures are expected", p.Broken)
	}
	m, err := model.Load(torchRefPath(t, dir, p.Model), model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x, err := model.ReadNPY(torchRefPath(t, dir, p.Input))
	if err != nil {
		t.Fatal(err)
	}
	if got := LogitLayer(m); got != p.LogitLayer {
		t.Errorf("LogitLayer = %q, PyTorch's class score layer is %q", got, p.LogitLayer)
	}
	type row struct {
		name, measure string
		err, tol      float64
		took          time.Duration
	}
	var rows []row
	var skipped []string
	for _, c := range p.Cases {
		if onePass && torchRefMultiPass[c.Method] {
			skipped = append(skipped, c.Name)
			continue
		}
		var tg Target
		if c.Target.Class {
			tg, err = ClassTarget(m, c.Target.Unit)
			if err == nil && tg.Layer != c.Target.Layer {
				err = fmt.Errorf("class target reads %s, the reference %s", tg.Layer, c.Target.Layer)
			}
		} else {
			tg, err = UnitTarget(m, c.Target.Layer, c.Target.Unit, AtSum, 0, 0)
		}
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		method, err := Lookup(c.Method)
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		r := &Request{Model: m, Input: x, Target: tg, CamLayer: c.RequestCamLayer,
			Samples: c.Samples, Sigma: c.Sigma, Seed: c.Seed, Steps: c.Steps, Patch: c.Patch, Stride: c.Stride}
		if c.Method == "smoothgrad" {
			r.Noise = torchRefNoise(c.Seed, x.Len())
		}
		start := time.Now()
		got, err := method.Compute(context.Background(), r)
		took := time.Since(start)
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		want, err := model.ReadNPY(filepath.Join(dir, c.File))
		if err != nil {
			t.Fatal(err)
		}
		if !model.SameShape(got.Data.Shape, want.Shape) {
			t.Errorf("%s: map is %s, the reference %s", c.Name, model.ShapeString(got.Data.Shape), model.ShapeString(want.Shape))
			continue
		}
		if c.CamLayer != "" && got.Layer != c.CamLayer {
			t.Errorf("%s: computed at layer %q, the reference at %q", c.Name, got.Layer, c.CamLayer)
		}
		if d := math.Abs(got.Score - c.Score); d > torchRefScoreTol*math.Max(1, math.Abs(c.Score)) {
			t.Errorf("%s: score %.6g, PyTorch %.6g", c.Name, got.Score, c.Score)
		}
		var e, tol float64
		var measure string
		switch c.Kind {
		case "input":
			e, tol, measure = torchRefRelL2(got.Data.Data, want.Data), torchRefInputTol, "relative L2"
		case "heat":
			e, tol, measure = torchRefMaxRel(got.Data.Data, want.Data), torchRefHeatTol, "max error / max |ref|"
		default:
			t.Fatalf("%s: unknown kind %q", c.Name, c.Kind)
		}
		rows = append(rows, row{c.Name, measure, e, tol, took})
		if !(e <= tol) {
			where := ""
			if got.Layer != "" {
				where = " at " + got.Layer
			}
			t.Errorf("%s (%s%s): %s %.3g > %.g", c.Name, tg, where, measure, e, tol)
		}
	}
	if len(skipped) > 0 {
		t.Logf("skipped under -race (run without -race, or set DEEPSCOPE_TORCH_RACE=1): %s", strings.Join(skipped, ", "))
	}
	for _, r := range rows {
		t.Logf("%-26s %-22s %.2e (limit %.0e)  %v", r.name, r.measure, r.err, r.tol, r.took.Round(time.Millisecond))
	}
}

// torchRefRelL2 is ||got - want|| / ||want||.
func torchRefRelL2(got, want []float32) float64 {
	var num, den float64
	for i, w := range want {
		d := float64(got[i]) - float64(w)
		num += d * d
		den += float64(w) * float64(w)
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}

// torchRefMaxRel is max |got - want| / max |want|.
func torchRefMaxRel(got, want []float32) float64 {
	var maxAbs, maxErr float64
	for i, w := range want {
		maxAbs = math.Max(maxAbs, math.Abs(float64(w)))
		maxErr = math.Max(maxErr, math.Abs(float64(got[i])-float64(w)))
	}
	if maxAbs == 0 {
		return maxErr
	}
	return maxErr / maxAbs
}

// torchRefNoise is scripts/vis_refs.py's portable SmoothGrad noise for
// inputs of size values: value j of sample i is Box-Muller of two uniforms
// made by splitmix64 from seed + (2(i·size+j)+t)·golden, t = 0, 1.
func torchRefNoise(seed uint64, size int) func(i int, dst []float32) {
	const golden = 0x9E3779B97F4A7C15
	splitmix := func(z uint64) uint64 {
		z += golden
		z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
		z = (z ^ z>>27) * 0x94D049BB133111EB
		return z ^ z>>31
	}
	return func(i int, dst []float32) {
		for j := range dst {
			idx := uint64(i*size + j)
			u1 := float64(splitmix(seed+2*idx*golden)>>11+1) * 0x1p-53
			u2 := float64(splitmix(seed+(2*idx+1)*golden)>>11) * 0x1p-53
			dst[j] = float32(math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2))
		}
	}
}

// TestTorchRefNoise pins torchRefNoise to values printed by
// scripts/vis_refs.py's noise(7, 2, 3).
func TestTorchRefNoise(t *testing.T) {
	want := [][]float32{
		{1.3649922609329224, -0.39652398228645325, 0.0044985259883105755},
		{-0.5806130766868591, -1.7128889560699463, 2.0622780323028564},
	}
	noise := torchRefNoise(7, 3)
	for i, w := range want {
		got := make([]float32, 3)
		noise(i, got)
		for j := range w {
			if got[j] != w[j] {
				t.Errorf("sample %d value %d: %v, python %v", i, j, got[j], w[j])
			}
		}
	}
}
