package vis

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"syscall"
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
	if _, err := os.Stat(photo); err != nil {
		b.Skipf("%s is absent (set DEEPSCOPE_SHARED to the shared folder)", photo)
	}
	m, sc := loadBenchModel(b, path)
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

// loadBenchModel loads the model at path and its sidecar, skipping the
// benchmark when the file is absent.
func loadBenchModel(b *testing.B, path string) (*model.Model, *model.Sidecar) {
	if _, err := os.Stat(path); err != nil {
		b.Skipf("%s is absent (set DEEPSCOPE_SHARED to the shared folder)", path)
	}
	m, err := model.Load(path, model.Options{})
	if err != nil {
		b.Fatal(err)
	}
	sc, err := model.LoadSidecar(path)
	if err != nil {
		b.Fatal(err)
	}
	return m, sc
}

// cost is the wall-clock and the process CPU time (user + system, all
// threads) of a call.
type cost struct{ wall, cpu time.Duration }

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs fn n times and returns the least wall-clock and CPU time of
// a run: the least disturbed by other load on the machine.
func measure(b *testing.B, n int, fn func() error) cost {
	best := cost{math.MaxInt64, math.MaxInt64}
	for range n {
		w0, c0 := time.Now(), cpuTime()
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		best.wall, best.cpu = min(best.wall, time.Since(w0)), min(best.cpu, cpuTime()-c0)
	}
	return best
}

// forward is one forward pass of r's input.
func forward(r *Request) error {
	a, err := r.Model.Run(r.Input)
	if err != nil {
		return err
	}
	a.Release()
	return nil
}

// BenchmarkTinyDarknet times every method on Tiny Darknet at 224x224 and
// reports it as a multiple of one forward pass measured in the same run
// just before (x-forward; per sample or step for smoothgrad and ig), in
// wall-clock time and in the process's CPU time (x-forward-cpu), each the
// least of its runs, which discounts other load on the machine. Goals:
// saliency, guided, deconv and gradcam <= 3, occlusion (defaults) <= 400,
// smoothgrad and ig <= 2.5 per sample/step. Run with
//
//	go test ./vis -run '^$' -bench TinyDarknet -benchtime 3x
//
// VIS_BENCH_MODEL names another model with Tiny Darknet's layers and a
// sidecar, e.g. a copy whose batch dimension is symbolic, to time the
// batched code paths (tiny_darknet.onnx fixes its batch to 1).
func BenchmarkTinyDarknet(b *testing.B) {
	r := tinyDarknetRequest(b)
	measure(b, 3, func() error { return forward(r) }) // warm the buffer pool
	for _, c := range []struct {
		name, method string
		per          int // forward-pass equivalents the goal is stated per
		set          func(r *Request)
	}{
		{"forward", "forward", 1, nil},
		{"saliency", "saliency", 1, nil},
		{"guided", "guided", 1, nil},
		{"deconv", "deconv", 1, nil},
		{"gradxinput", "gradxinput", 1, nil},
		{"gradcam", "gradcam", 1, nil},
		{"gradcam++", "gradcam++", 1, nil},
		{"guided-gradcam", "guided-gradcam", 1, nil},
		{"cam", "cam", 1, nil},
		// The defaults (50 samples, 50 steps): their one-off costs, such
		// as SmoothGrad's forward pass of the clean input, spread as in
		// use.
		{"smoothgrad", "smoothgrad", 50, func(r *Request) { r.Samples = 50 }},
		{"ig", "ig", 50, func(r *Request) { r.Steps = 50 }},
		{"occlusion", "occlusion", 1, nil},
		// One copy per pass even when the model takes a batch.
		{"occlusion-unbatched", "occlusion", 1, func(r *Request) { r.Batch = 1 }},
		// Score-CAM at a 128-channel layer (the default conv16 has 1000).
		{"scorecam-relu15", "scorecam", 1, func(r *Request) { r.CamLayer = "relu15" }},
		{"scorecam-relu15-unbatched", "scorecam", 1, func(r *Request) { r.CamLayer = "relu15"; r.Batch = 1 }},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := *r
			if c.set != nil {
				c.set(&req)
			}
			run := func() error { return forward(&req) }
			if c.method != "forward" {
				method, err := Lookup(c.method)
				if err != nil {
					b.Fatal(err)
				}
				run = func() error {
					_, err := method.Compute(context.Background(), &req)
					return err
				}
			}
			base := measure(b, 7, func() error { return forward(&req) })
			best := cost{math.MaxInt64, math.MaxInt64}
			for b.Loop() {
				one := measure(b, 1, run)
				best.wall, best.cpu = min(best.wall, one.wall), min(best.cpu, one.cpu)
			}
			per := float64(c.per)
			b.ReportMetric(float64(best.wall)/float64(base.wall)/per, "x-forward")
			b.ReportMetric(float64(best.cpu)/float64(base.cpu)/per, "x-forward-cpu")
			b.ReportMetric(float64(base.wall)/1e6, "forward-ms")
		})
	}
}
