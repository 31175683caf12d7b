package vis

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/deepscope/deepscope/model"
)

// BenchmarkOptimizeOverhead times activation maximization with the lucid
// recipe (Fourier parameterization, colour decorrelation, jitter, zoom and
// rotation, Adam) against the same number of plain forward+backward passes
// of the same objective on a fixed image (both stopping at the objective's
// layer, model.RunTo), measured alternately in the same run, on a shallow,
// a middle and a deep layer of Tiny Darknet. overhead-%
// is 100·(lucid/plain - 1) of the least wall-clock time of the runs (and
// overhead-cpu-% of the process's CPU time), which discounts other load on
// the machine; goal <= 25. overhead-in-run-% compares each lucid run with
// the plain steps inside it: its network passes and its objective
// (OptResult.NetTime + ObjTime), as the plain side runs them;
// overhead-vs-net-% with its network passes alone; overhead-pairs-% is the
// median over the runs of each lucid run against the plain steps just
// before it, overhead-vs-plain-run-% the same against a plain optimization
// run (Optimize on the pixels with plain gradient steps, no transforms or
// regularizers: the same loop, in which the network runs slower than in a
// bare loop of passes). Run with
//
//	go test ./vis -run '^$' -bench OptimizeOverhead -benchtime 3x
func BenchmarkOptimizeOverhead(b *testing.B) {
	m, sc := loadBenchModel(b, filepath.Join(sharedDir(), "models", "tiny_darknet.onnx"))
	in := m.Input()
	space := NewPixelSpace(sc, in.Shape[1])
	rec, err := Preset("lucid")
	if err != nil {
		b.Fatal(err)
	}
	rec.Settle = 0     // every step transformed, the worst case
	steps := rec.Steps // 96, as the user runs it: the run's setup spreads as it does in use
	for _, layer := range []string{"conv2", "conv8", "conv14"} {
		b.Run(layer, func(b *testing.B) {
			obj := Activation(Target{Layer: layer, Unit: 3})
			var netTime, objTime time.Duration // of the last lucid run
			lucid := func() error {
				res, err := Optimize(context.Background(), &Optimization{Model: m, Space: space, Objective: obj, Recipe: rec, Seed: 1})
				if err == nil {
					netTime, objTime = res.NetTime, res.ObjTime
				}
				return err
			}
			// Plain steps: forward, the objective and its seed, backward
			// to the input, on a fixed grey-noise image. steps+1 passes
			// as Optimize's final evaluation adds a forward pass.
			x := model.NewTensor(in.Shape...)
			for i := range x.Data {
				x.Data[i] = float32(math.Sin(float64(i))) * 0.1
			}
			plain := func() error {
				for range steps {
					a, err := m.RunTo(x, in.Name, layer) // as Optimize: up to the objective's layer
					if err != nil {
						return err
					}
					f, err := gather([]*model.Activations{a}, []string{in.Name, layer}, in.Name, space)
					if err != nil {
						return err
					}
					if _, err := obj.Eval(f, true); err != nil {
						return err
					}
					if _, err := m.Backward(a, f.Grads(), model.Vanilla, in.Name); err != nil {
						return err
					}
					a.Release()
				}
				a, err := m.RunTo(x, in.Name, layer)
				if err != nil {
					return err
				}
				a.Release()
				return nil
			}
			// A plain optimization run: the same loop (Optimize) taking
			// plain gradient steps on the pixels, without parameterization,
			// transforms or regularizers.
			plainRec := Recipe{Param: ParamPixel, Optimizer: "sgd", LR: 1e-3, Steps: steps, InitNoise: rec.InitNoise}
			plainRun := func() error {
				_, err := Optimize(context.Background(), &Optimization{Model: m, Space: space, Objective: obj, Recipe: plainRec, Seed: 1})
				return err
			}
			measure(b, 1, plain) // warm the buffer pools
			measure(b, 1, plainRun)
			measure(b, 1, lucid)
			bestPlain := cost{math.MaxInt64, math.MaxInt64}
			bestLucid := bestPlain
			inRun, vsNet := math.Inf(1), math.Inf(1)
			var pairs, runPairs []float64 // each lucid run against the plain steps and run just before it
			for b.Loop() {
				p := measure(b, 1, plain)
				pr := measure(b, 1, plainRun)
				l := measure(b, 1, lucid)
				pairs = append(pairs, float64(l.wall)/float64(p.wall))
				runPairs = append(runPairs, float64(l.wall)/float64(pr.wall))
				bestPlain.wall, bestPlain.cpu = min(bestPlain.wall, p.wall), min(bestPlain.cpu, p.cpu)
				bestLucid.wall, bestLucid.cpu = min(bestLucid.wall, l.wall), min(bestLucid.cpu, l.cpu)
				inRun = min(inRun, float64(l.wall)/float64(netTime+objTime))
				vsNet = min(vsNet, float64(l.wall)/float64(netTime))
			}
			// The same overhead within each lucid run: its time against
			// the time its own plain steps took, which the machine's
			// changing load affects alike.
			b.ReportMetric(100*(inRun-1), "overhead-in-run-%")
			b.ReportMetric(100*(vsNet-1), "overhead-vs-net-%")
			b.ReportMetric(100*(float64(bestLucid.wall)/float64(bestPlain.wall)-1), "overhead-%")
			slices.Sort(pairs)
			b.ReportMetric(100*(pairs[len(pairs)/2]-1), "overhead-pairs-%")
			slices.Sort(runPairs)
			b.ReportMetric(100*(runPairs[len(runPairs)/2]-1), "overhead-vs-plain-run-%")
			b.ReportMetric(100*(float64(bestLucid.cpu)/float64(bestPlain.cpu)-1), "overhead-cpu-%")
			b.ReportMetric(float64(bestPlain.wall)/1e6/float64(steps), "plain-ms/step")
			b.ReportMetric(float64(bestLucid.wall)/1e6/float64(steps), "lucid-ms/step")
		})
	}
}

// BenchmarkOptimizeParts times the pieces of a lucid step other than the
// network, on one 3 x 224 x 224 image: the Fourier parameterization's
// render and backprop, drawing and applying a warp and its adjoint, and an
// Adam step.
func BenchmarkOptimizeParts(b *testing.B) {
	const c, h, w = 3, 224, 224
	f := newFourierParam(1, c, h, w, 1, true, false)
	for i := range f.v {
		f.v[i] = float32(math.Sin(float64(i))) * 0.01
	}
	px := make([]float32, c*h*w)
	g := make([]float32, c*h*w)
	for i := range g {
		g[i] = float32(math.Cos(float64(i)))
	}
	gv := make([]float32, len(f.v))
	spare := make([]float32, c*h*w)
	rec, _ := Preset("lucid")
	rng := (&Optimization{Seed: 1}).rand()
	wp := rec.Transforms.draw(rng, h, w)
	opt, _ := newOptimizer("adam", 0.1, len(f.v))
	b.Run("fourier-render", func(b *testing.B) {
		c0 := cpuTime()
		for b.Loop() {
			f.render(px)
		}
		b.ReportMetric(float64(cpuTime()-c0)/float64(b.N)/1e6, "cpu-ms/op")
	})
	b.Run("fourier-backprop", func(b *testing.B) {
		c0 := cpuTime()
		for b.Loop() {
			f.backprop(g, gv)
		}
		b.ReportMetric(float64(cpuTime()-c0)/float64(b.N)/1e6, "cpu-ms/op")
	})
	b.Run("warp-draw", func(b *testing.B) {
		c0 := cpuTime()
		for b.Loop() {
			wp = rec.Transforms.draw(rng, h, w)
		}
		b.ReportMetric(float64(cpuTime()-c0)/float64(b.N)/1e6, "cpu-ms/op")
	})
	b.Run("warp-apply", func(b *testing.B) {
		c0 := cpuTime()
		for b.Loop() {
			wp.applyPlanes(g, px, c, []float32{0.5, 0.5, 0.5}, []float32{1, 1, 1}, []float32{0, 0, 0}, 0, h)
		}
		b.ReportMetric(float64(cpuTime()-c0)/float64(b.N)/1e6, "cpu-ms/op")
	})
	b.Run("warp-adjoint", func(b *testing.B) {
		c0 := cpuTime()
		for b.Loop() {
			wp.adjointPlanes(px, g, c, []float32{1, 1, 1}, spare)
		}
		b.ReportMetric(float64(cpuTime()-c0)/float64(b.N)/1e6, "cpu-ms/op")
	})
	b.Run("adam", func(b *testing.B) {
		c0 := cpuTime()
		for b.Loop() {
			opt.step(f.v, gv)
		}
		b.ReportMetric(float64(cpuTime()-c0)/float64(b.N)/1e6, "cpu-ms/op")
	})
}

// BenchmarkRegularizerOverhead times Yosinski et al.'s four presets
// (pixels, normalized steps, decay, blur, norm and contribution clipping)
// on the same layers, each run against the plain steps inside it
// (OptResult.NetTime + ObjTime): overhead-in-run-% is the rest, the
// regularizers and the optimizer. Run with
//
//	go test ./vis -run '^$' -bench RegularizerOverhead -benchtime 3x
func BenchmarkRegularizerOverhead(b *testing.B) {
	m, sc := loadBenchModel(b, filepath.Join(sharedDir(), "models", "tiny_darknet.onnx"))
	space := NewPixelSpace(sc, m.Input().Shape[1])
	for _, preset := range []string{"yosinski1", "yosinski2", "yosinski3", "yosinski4"} {
		for _, layer := range []string{"conv2", "conv8", "conv14"} {
			b.Run(preset+"/"+layer, func(b *testing.B) {
				rec, err := Preset(preset)
				if err != nil {
					b.Fatal(err)
				}
				rec.Steps = 50
				inRun := math.Inf(1)
				for b.Loop() {
					res, err := Optimize(context.Background(), &Optimization{Model: m, Space: space,
						Objective: Activation(Target{Layer: layer, Unit: 3}), Recipe: rec, Seed: 1})
					if err != nil {
						b.Fatal(err)
					}
					inRun = min(inRun, float64(res.Elapsed)/float64(res.NetTime+res.ObjTime))
				}
				b.ReportMetric(100*(inRun-1), "overhead-in-run-%")
			})
		}
	}
}
