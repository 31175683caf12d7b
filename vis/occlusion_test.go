package vis

import (
	"context"
	"math"
	"testing"

	"github.com/deepscope/deepscope/model"
)

// bruteOcclusion is occlusion by definition: a full forward pass of every
// occluded copy.
func bruteOcclusion(t *testing.T, r *Request, patch, stride int) []float64 {
	t.Helper()
	h, w := r.Input.Shape[2], r.Input.Shape[3]
	score := func(x *model.Tensor) float64 {
		a, err := r.Model.Run(x)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Release()
		s, err := r.Target.Scores(a)
		if err != nil {
			t.Fatal(err)
		}
		return s[0]
	}
	s0 := score(r.Input)
	var drops []float64
	for y0 := 0; y0+patch <= h; y0 += stride {
		for x0 := 0; x0+patch <= w; x0 += stride {
			x := r.Input.Clone()
			for c := range x.Shape[1] {
				for y := y0; y < y0+patch; y++ {
					for xx := x0; xx < x0+patch; xx++ {
						x.Data[(c*h+y)*w+xx] = 0
					}
				}
			}
			drops = append(drops, s0-score(x))
		}
	}
	return drops
}

// Incremental occlusion (every copy computed from the clean pass) matches
// full forward passes of the occluded copies on SqueezeNet, for patches at
// the corners, edges and inside, for a class and for a unit target, and
// reports its progress copy by copy.
func TestOcclusionIncrementalSqueezenet(t *testing.T) {
	m, err := model.Load("../testdata/torch/squeezenet1_1/model.onnx", model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := m.Input().Shape
	x := model.NewTensor(in...)
	for i := range x.Data {
		x.Data[i] = float32(math.Sin(float64(i)*0.37)) * 2
	}
	class, err := ClassTarget(m, 3)
	if err != nil {
		t.Fatal(err)
	}
	unit, err := UnitTarget(m, "/features/features.3/squeeze/Conv_output_0", 5, AtMax, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range []Target{class, unit} {
		// 4 x 4 patches at rows and columns 0, 18, 36 and 54: the last
		// ones end at the input's border (68).
		r := &Request{Model: m, Input: x, Target: tg, Patch: 14, Stride: 18}
		var last, calls int
		r.Progress = func(done, total int) {
			calls++
			if done <= last || done > total {
				t.Errorf("progress %d/%d after %d", done, total, last)
			}
			last = done
		}
		mp := compute(t, "occlusion", r)
		want := bruteOcclusion(t, r, 14, 18)
		g := (in[2]-14)/18 + 1
		if !model.SameShape(mp.Data.Shape, []int{g, g}) || len(want) != g*g {
			t.Fatalf("%v: map %v, want %dx%d", tg, mp.Data.Shape, g, g)
		}
		scale := 0.0
		for _, v := range want {
			scale = max(scale, math.Abs(v))
		}
		if scale == 0 {
			t.Fatalf("%v: no patch moves the target", tg)
		}
		assertClose(t, tg.String()+" occlusion", mp.Data.Data, want, 1e-4*scale)
		if calls != g*g || last != g*g {
			t.Errorf("%v: %d progress calls ending at %d, want %d", tg, calls, last, g*g)
		}
	}
}

// A cancelled context stops the incremental copies.
func TestOcclusionIncrementalCancel(t *testing.T) {
	m, err := model.Load("../testdata/torch/squeezenet1_1/model.onnx", model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := classRequest(t, m, model.NewTensor(m.Input().Shape...), 1)
	r.Patch, r.Stride = 4, 2
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	r.Progress = func(done, total int) {
		calls++
		if done == 5 {
			cancel()
		}
	}
	if _, err := (Occlusion{}).Compute(ctx, r); err != context.Canceled {
		t.Errorf("err %v, want context.Canceled", err)
	}
	if calls != 5 {
		t.Errorf("%d progress calls, want 5 (none after the cancel)", calls)
	}
}
