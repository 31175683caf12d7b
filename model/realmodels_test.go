package model

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// sharedDir returns the project's shared data directory: $DEEPSCOPE_SHARED,
// or the repository's sibling ../shared (../../shared from this package).
// The test is skipped when it does not exist.
func sharedDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("DEEPSCOPE_SHARED")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared")
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		t.Skipf("shared data directory %s not found (set DEEPSCOPE_SHARED)", dir)
	}
	return dir
}

// prediction is one class and its probability.
type prediction struct {
	label string
	prob  float64
}

// topK returns the k most probable classes of a probability vector.
func topK(prob []float32, labels func(int) string, k int) []prediction {
	idx := make([]int, len(prob))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return prob[idx[a]] > prob[idx[b]] })
	out := make([]prediction, 0, k)
	for _, i := range idx[:min(k, len(idx))] {
		out = append(out, prediction{labels(i), float64(prob[i])})
	}
	return out
}

func formatPredictions(p []prediction) string {
	parts := make([]string, len(p))
	for i, x := range p {
		parts[i] = fmt.Sprintf("%s %.3f", x.label, x.prob)
	}
	return strings.Join(parts, ", ")
}

// TestRealModels checks the three pretrained models against the top-3
// predictions of ONNX Runtime listed in shared/models/README.md. The
// probabilities may differ by about 0.01 because our bilinear resize is not
// the reference's; labels and order must match.
func TestRealModels(t *testing.T) {
	shared := sharedDir(t)
	type ref struct {
		photo string
		top   []prediction
	}
	models := []struct {
		file string
		refs []ref
	}{
		{"tiny_darknet.onnx", []ref{
			{"dog.jpg", []prediction{{"dogsled", 0.70}, {"malamute", 0.08}, {"Eskimo dog", 0.05}}},
			{"eagle.jpg", []prediction{{"kite", 0.41}, {"ruddy turnstone", 0.31}, {"bald eagle", 0.09}}},
			{"giraffe.jpg", []prediction{{"zebra", 0.88}, {"prairie chicken", 0.05}, {"bustard", 0.02}}},
		}},
		{"mobilenetv2_1.0_224_dequant.onnx", []ref{
			{"dog.jpg", []prediction{{"malamute", 0.75}, {"Eskimo dog", 0.07}, {"dogsled", 0.05}}},
			{"eagle.jpg", []prediction{{"bald eagle", 0.75}, {"kite", 0.13}, {"vulture", 0.10}}},
		}},
		{"mobilenet_v1_0.75_224.onnx", []ref{
			{"dog.jpg", []prediction{{"bicycle-built-for-two", 0.30}, {"malamute", 0.22}, {"Tibetan mastiff", 0.07}}},
			{"eagle.jpg", []prediction{{"kite", 0.37}, {"hen", 0.33}, {"bald eagle", 0.21}}},
			{"kite.jpg", []prediction{{"parachute", 0.84}, {"seashore", 0.11}, {"sandbar", 0.01}}},
		}},
	}
	const tol = 0.03
	for _, mc := range models {
		t.Run(strings.TrimSuffix(mc.file, ".onnx"), func(t *testing.T) {
			refs := mc.refs
			if raceEnabled() || testing.Short() {
				// The race detector slows loading and running ~5-10x: check
				// one model (depthwise Conv, Clip, Gemm) on one photo.
				if mc.file != "mobilenet_v1_0.75_224.onnx" {
					t.Skip("only mobilenet_v1 runs under -race or -short")
				}
				refs = refs[:1]
			}
			path := filepath.Join(shared, "models", mc.file)
			if _, err := os.Stat(path); err != nil {
				t.Skipf("model not available: %v", err)
			}
			side, err := LoadSidecar(path)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Load(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := side.FitInput(m.Input().Shape); err != nil {
				t.Fatal(err)
			}
			if len(m.Outputs) == 0 {
				t.Fatal("model has no outputs")
			}
			var x *Tensor
			for _, r := range refs {
				img, err := DecodeImage(filepath.Join(shared, "photos", r.photo))
				if err != nil {
					t.Fatal(err)
				}
				x = side.PreprocessInto(x, img)
				acts, err := m.Run(x)
				if err != nil {
					t.Fatalf("%s: %v", r.photo, err)
				}
				prob, err := acts.Get(m.Outputs[0])
				if err != nil {
					t.Fatal(err)
				}
				if !SameShape(prob.Shape, []int{1, 1000}) {
					t.Fatalf("%s: output shape %v", r.photo, prob.Shape)
				}
				var sum float64
				for _, p := range prob.Data {
					sum += float64(p)
				}
				got := topK(prob.Data, side.Label, 5)
				acts.Release()
				if math.Abs(sum-1) > 1e-3 {
					t.Errorf("%s: probabilities sum to %v", r.photo, sum)
				}
				ok := true
				for i, want := range r.top {
					if got[i].label != want.label || math.Abs(got[i].prob-want.prob) > tol {
						ok = false
					}
				}
				if !ok {
					t.Errorf("%s: top-5 %s; want top-3 %s (±%.2f)", r.photo, formatPredictions(got), formatPredictions(r.top), tol)
				} else {
					t.Logf("%s: %s", r.photo, formatPredictions(got[:3]))
				}
			}
		})
	}
}
