package vis

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/deepscope/deepscope/model"
)

// sharedDir is the project's shared folder: $DEEPSCOPE_SHARED, or
// ../shared next to the repository.
func sharedDir() string {
	if d := os.Getenv("DEEPSCOPE_SHARED"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "shared")
}

// tinyDarknetRequest loads the shared Tiny Darknet (or $VIS_BENCH_MODEL)
// and the dog photo, preprocessed by the model's sidecar, explaining class
// 235 (German shepherd). It skips when they are absent.
func tinyDarknetRequest(b *testing.B) *Request {
	path := os.Getenv("VIS_BENCH_MODEL")
	if path == "" {
		path = filepath.Join(sharedDir(), "models", "tiny_darknet.onnx")
	}
	photo := filepath.Join(sharedDir(), "photos", "dog.jpg")
	for _, p := range []string{path, photo} {
		if _, err := os.Stat(p); err != nil {
			b.Skipf("%s is absent (set DEEPSCOPE_SHARED to the shared folder)", p)
		}
	}
	m, err := model.Load(path, model.Options{})
	if err != nil {
		b.Fatal(err)
	}
	sc, err := model.LoadSidecar(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := sc.FitInput(m.Input().Shape); err != nil {
		b.Fatal(err)
	}
	img, err := model.DecodeImage(photo)
	if err != nil {
		b.Fatal(err)
	}
	tg, err := ClassTarget(m, 235)
	if err != nil {
		b.Fatal(err)
	}
	return &Request{Model: m, Input: sc.Preprocess(img), Target: tg}
}

// forwardTime is the fastest of a few forward passes of r's input.
func forwardTime(b *testing.B, r *Request) time.Duration {
	var times []time.Duration
	for range 7 {
		t0 := time.Now()
		a, err := r.Model.Run(r.Input)
		if err != nil {
			b.Fatal(err)
		}
		a.Release()
		times = append(times, time.Since(t0))
	}
	return slices.Min(times)
}

// BenchmarkTinyDarknet times every method on Tiny Darknet at 224x224 and
// reports it as a multiple of one forward pass measured in the same run
// just before (x-forward; per sample or step for smoothgrad and ig). Both
// are the fastest of their runs, which discounts other load on the machine. Goals:
// saliency, guided, deconv and gradcam <= 3, occlusion (defaults) <= 400,
// smoothgrad and ig <= 2.5 per sample/step. Run with
//
//	go test ./vis -run '^$' -bench TinyDarknet -benchtime 3x
func BenchmarkTinyDarknet(b *testing.B) {
	r := tinyDarknetRequest(b)
	forwardTime(b, r) // warm the buffer pool
	for _, c := range []struct {
		method string
		per    int // forward-pass equivalents the goal is stated per
		set    func(r *Request)
	}{
		{"forward", 1, nil},
		{"saliency", 1, nil},
		{"guided", 1, nil},
		{"deconv", 1, nil},
		{"gradxinput", 1, nil},
		{"gradcam", 1, nil},
		{"gradcam++", 1, nil},
		{"guided-gradcam", 1, nil},
		{"cam", 1, nil},
		{"smoothgrad", 10, func(r *Request) { r.Samples = 10 }},
		{"ig", 10, func(r *Request) { r.Steps = 10 }},
		{"occlusion", 1, nil},
		{"scorecam", 1, nil},
	} {
		b.Run(c.method, func(b *testing.B) {
			req := *r
			if c.set != nil {
				c.set(&req)
			}
			base := forwardTime(b, &req)
			best := time.Duration(math.MaxInt64)
			for b.Loop() {
				t0 := time.Now()
				if c.method == "forward" {
					a, err := req.Model.Run(req.Input)
					if err != nil {
						b.Fatal(err)
					}
					a.Release()
				} else {
					method, err := Lookup(c.method)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := method.Compute(context.Background(), &req); err != nil {
						b.Fatal(err)
					}
				}
				best = min(best, time.Since(t0))
			}
			b.ReportMetric(float64(best)/float64(base)/float64(c.per), "x-forward")
			b.ReportMetric(float64(base)/1e6, "forward-ms")
		})
	}
}
