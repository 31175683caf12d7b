package vis

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/deepscope/deepscope/model"
)

func optimTarget() Objective { return Activation(Target{Layer: "act2", Unit: 2}) }

// TestOptimizeDeterministic: the same seed gives the same images, bit for
// bit; another seed gives other images.
func TestOptimizeDeterministic(t *testing.T) {
	m := loadModel(t, "optim/optim")
	rec, _ := Preset("lucid")
	rec.Steps = 8
	rec.Transforms = Transforms{Jitter: 2, ScaleMin: 0.9, ScaleMax: 1.1, Rotate: 10}
	runOnce := func(seed uint64) []float32 {
		o := &Optimization{Model: m, Space: optimSpace, Objective: Sum(optimTarget(), Diversity("act1", 1)),
			Recipe: rec, Images: 2, Seed: seed}
		res, err := Optimize(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		return append(slices.Clone(res.Images[0].Data), res.Images[1].Data...)
	}
	a, b, c := runOnce(7), runOnce(7), runOnce(8)
	if !slices.Equal(a, b) {
		t.Error("two runs with seed 7 differ")
	}
	if slices.Equal(a, c) {
		t.Error("seeds 7 and 8 give the same images")
	}
	if slices.Equal(a[:len(a)/2], a[len(a)/2:]) {
		t.Error("the two images of a run are equal")
	}
}

// TestOptimizeCancel: cancelling the context from the step callback stops
// the run before the next step; a cancelled context runs no step at all.
func TestOptimizeCancel(t *testing.T) {
	m := loadModel(t, "optim/optim")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var seen []int
	o := &Optimization{Model: m, Space: optimSpace, Objective: optimTarget(), Recipe: Recipe{Steps: 100}, Every: 1,
		OnStep: func(p *OptProgress) error {
			seen = append(seen, p.Step)
			if p.Step == 3 {
				cancel()
			}
			return nil
		}}
	_, err := Optimize(ctx, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if !slices.Equal(seen, []int{1, 2, 3}) {
		t.Errorf("steps seen %v, want [1 2 3]", seen)
	}
	steps := 0
	o.OnStep = func(*OptProgress) error { steps++; return nil }
	if _, err := Optimize(ctx, o); !errors.Is(err, context.Canceled) || steps != 0 {
		t.Errorf("cancelled context: err %v after %d steps", err, steps)
	}
	// An error from the callback stops the run too.
	stop := errors.New("enough")
	o.OnStep = func(p *OptProgress) error { return stop }
	if _, err := Optimize(context.Background(), o); !errors.Is(err, stop) {
		t.Errorf("callback error: got %v", err)
	}
}

// TestOptimizeCallbackEvery checks the reporting schedule and the images
// reported.
func TestOptimizeCallbackEvery(t *testing.T) {
	m := loadModel(t, "optim/optim")
	var seen []int
	var last []float32
	o := &Optimization{Model: m, Space: optimSpace, Objective: optimTarget(), Recipe: Recipe{Steps: 10}, Every: 4,
		OnStep: func(p *OptProgress) error {
			seen = append(seen, p.Step)
			if len(p.Images) != 1 || !model.SameShape(p.Images[0].Shape, []int{1, 3, 8, 8}) || p.Steps != 10 {
				t.Errorf("step %d: images %v, steps %d", p.Step, p.Images, p.Steps)
			}
			last = slices.Clone(p.Images[0].Data)
			return nil
		}}
	res, err := Optimize(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seen, []int{4, 8, 10}) {
		t.Errorf("reported steps %v, want [4 8 10]", seen)
	}
	if !slices.Equal(last, res.Images[0].Data) || res.Steps != 10 {
		t.Error("the last report is not the result")
	}
	if res.NetTime <= 0 || res.ObjTime <= 0 || res.Elapsed < res.NetTime+res.ObjTime {
		t.Errorf("times: net %v, objective %v, elapsed %v", res.NetTime, res.ObjTime, res.Elapsed)
	}
	// Stop ends the run early.
	o.OnStep = nil
	o.Stop = func(p *OptProgress) bool { return p.Step == 6 }
	if res, err = Optimize(context.Background(), o); err != nil || res.Steps != 6 {
		t.Errorf("Stop at 6: %d steps, err %v", res.Steps, err)
	}
}

// TestOptimizePixelBoundsAndInit: the pixel parameterization starts from
// the given image and keeps every pixel within its bounds; a Fourier start
// from an image renders that image.
func TestOptimizePixelBoundsAndInit(t *testing.T) {
	m := loadModel(t, "optim/optim")
	px := randomPixels(4, 3*8*8)
	init := model.NewTensor(1, 3, 8, 8)
	optimSpace.ToInput(init.Data, px, 3)
	lo, hi := make([]float32, len(px)), make([]float32, len(px))
	for i, p := range px {
		lo[i], hi[i] = p-0.01, p+0.01
	}
	o := &Optimization{Model: m, Space: optimSpace, Objective: optimTarget(), Init: init, lo: lo, hi: hi,
		Recipe: Recipe{Param: ParamPixel, Optimizer: "sign", LR: 0.004, Steps: 5}}
	res, err := Optimize(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float32, len(px))
	optimSpace.ToPixels(got, res.Images[0].Data, 3)
	moved := 0
	for i := range got {
		if got[i] < lo[i]-1e-6 || got[i] > hi[i]+1e-6 {
			t.Fatalf("pixel %d = %g outside [%g, %g]", i, got[i], lo[i], hi[i])
		}
		if math.Abs(float64(got[i]-px[i])) > 0.009 {
			moved++
		}
	}
	if moved < len(px)/2 {
		t.Errorf("only %d of %d pixels reached their bounds after 5 sign steps of 0.004", moved, len(px))
	}
	// Zero steps of a Fourier run return the initial image.
	f := &Optimization{Model: m, Space: optimSpace, Objective: optimTarget(), Init: init,
		Recipe: Recipe{Param: ParamFourier, Decorrelate: true, Steps: 1, LR: 1e-12}}
	res, err = Optimize(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	optimSpace.ToPixels(got, res.Images[0].Data, 3)
	for i := range got {
		if math.Abs(float64(got[i]-px[i])) > 1e-4 {
			t.Fatalf("Fourier start: pixel %d = %g, want %g", i, got[i], px[i])
		}
	}
}

// TestOptimizeErrors checks the validation of bad settings.
func TestOptimizeErrors(t *testing.T) {
	m := loadModel(t, "optim/optim")
	bad := []*Optimization{
		{Model: m},
		{Model: m, Objective: Activation(Target{Layer: "nope"})},
		{Model: m, Objective: optimTarget(), Recipe: Recipe{Param: "wavelet"}},
		{Model: m, Objective: optimTarget(), Recipe: Recipe{Optimizer: "lbfgs"}},
		{Model: m, Objective: optimTarget(), Recipe: Recipe{Regularizer: Regularizer{Decay: 0.1}}},
		{Model: m, Objective: optimTarget(), Init: model.NewTensor(1, 3, 4, 4)},
		{Model: m, Objective: Activation(Target{Layer: "act2", Unit: 9})},
	}
	for i, o := range bad {
		if _, err := Optimize(context.Background(), o); err == nil {
			t.Errorf("case %d: no error", i)
		}
	}
}

// TestPixelSpace checks the sidecar mapping and its inverse.
func TestPixelSpace(t *testing.T) {
	sc := model.DefaultSidecar()
	sc.Input.Scale = 1
	sc.Input.Mean = []float64{100, 110, 120}
	sc.Input.Std = []float64{50}
	sc.Input.Color = model.BGR
	sp := NewPixelSpace(sc, 3)
	// p = 1 is pixel 255: (255 - mean)/50.
	x := make([]float32, 3)
	sp.ToInput(x, []float32{1, 1, 1}, 3)
	if want := []float32{3.1, 2.9, 2.7}; math.Abs(float64(x[0]-want[0])) > 1e-5 || math.Abs(float64(x[2]-want[2])) > 1e-5 {
		t.Errorf("ToInput = %v, want %v", x, want)
	}
	sp.ToPixels(x, x, 3)
	for _, v := range x {
		if math.Abs(float64(v-1)) > 1e-6 {
			t.Errorf("ToPixels(ToInput(1)) = %v", x)
		}
	}
	if !sp.BGR {
		t.Error("BGR not carried over")
	}
}

// TestOptimizeSettle: the last Settle steps (at most an eighth of them)
// see the untransformed image, so each of their objective values is the
// objective of the image the step before left; the steps before see
// transformed images, whose values differ.
func TestOptimizeSettle(t *testing.T) {
	m := loadModel(t, "optim/optim")
	rec := Recipe{Steps: 24, Settle: 5, Transforms: Transforms{Jitter: 2, Rotate: 20}}
	var images [][]float32
	var values []float64
	o := &Optimization{Model: m, Space: optimSpace, Objective: optimTarget(), Recipe: rec, Every: 1, Seed: 3,
		OnStep: func(p *OptProgress) error {
			images = append(images, slices.Clone(p.Images[0].Data))
			values = append(values, p.Values[0])
			return nil
		}}
	if _, err := Optimize(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	plain := func(x []float32) float64 {
		a, err := m.Run(model.FromData(x, 1, 3, 8, 8))
		if err != nil {
			t.Fatal(err)
		}
		defer a.Release()
		f, err := gather([]*model.Activations{a}, []string{m.Input().Name, "act2"}, m.Input().Name, optimSpace)
		if err != nil {
			t.Fatal(err)
		}
		v, err := optimTarget().Eval(f, false)
		if err != nil {
			t.Fatal(err)
		}
		return v[0]
	}
	// Steps 22..24 settle (min(5, 24/8) = 3): step s evaluates the image
	// after step s-1, images[s-2].
	same := func(s int) bool { return math.Abs(values[s-1]-plain(images[s-2])) <= 1e-5*(1+math.Abs(values[s-1])) }
	for s := 22; s <= 24; s++ {
		if !same(s) {
			t.Errorf("settling step %d: value %g, untransformed objective %g", s, values[s-1], plain(images[s-2]))
		}
	}
	transformed := 0
	for s := 2; s <= 21; s++ {
		if !same(s) {
			transformed++
		}
	}
	if transformed < 15 {
		t.Errorf("only %d of steps 2..21 saw a transformed image", transformed)
	}
}

// TestAdam: adam.step (the AVX2 kernel where the processor has one, the
// scalar loop for the tail and elsewhere) follows Kingma & Ba's update
// computed in float64, over 20 steps of random gradients on 1003 values.
func TestAdam(t *testing.T) {
	const n = 1003
	rng := rand.New(rand.NewPCG(3, 4))
	opt, err := newOptimizer("adam", 0.05, n)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, n)
	want, m, s := make([]float64, n), make([]float64, n), make([]float64, n)
	g := make([]float32, n)
	for step := 1; step <= 20; step++ {
		for i := range g {
			g[i] = float32(rng.NormFloat64() * math.Pow(10, float64(i%7-3)))
		}
		opt.step(v, g)
		for i, x := range g {
			m[i] = 0.9*m[i] + 0.1*float64(x)
			s[i] = 0.999*s[i] + 0.001*float64(x)*float64(x)
			mh, sh := m[i]/(1-math.Pow(0.9, float64(step))), s[i]/(1-math.Pow(0.999, float64(step)))
			want[i] += 0.05 * mh / (math.Sqrt(sh) + 1e-8)
		}
		for i := range v {
			if d := math.Abs(float64(v[i]) - want[i]); d > 1e-5*(1+math.Abs(want[i])) {
				t.Fatalf("step %d, value %d: %g, want %g", step, i, v[i], want[i])
			}
		}
	}
}
