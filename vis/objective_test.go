package vis

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepscope/deepscope/model"
)

// optimSpace is a non-trivial pixel space for the tests: x = (p - 0.5)/0.25.
var optimSpace = PixelSpace{Gain: []float64{4, 4, 4}, Bias: []float64{-2, -2, -2}}

// layerValue runs the tiny network on one pixel image and returns a
// layer's value (a copy).
func layerValue(t *testing.T, m *model.Model, px []float32, layer string) *model.Tensor {
	t.Helper()
	x := model.NewTensor(1, 3, 8, 8)
	optimSpace.ToInput(x.Data, px, 3)
	a, err := m.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	v, err := a.Get(layer)
	if err != nil {
		t.Fatal(err)
	}
	return v.Clone()
}

func randomPixels(seed uint64, n int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	px := make([]float32, n)
	for i := range px {
		px[i] = float32(0.2 + 0.6*rng.Float64())
	}
	return px
}

// TestObjectiveGradients checks each objective's gradient, taken through
// the tiny network and the pixel space by the optimizer's gradient pass,
// against central finite differences of its value.
func TestObjectiveGradients(t *testing.T) {
	m := loadModel(t, "optim/optim")
	ref := randomPixels(99, 3*8*8)
	gramOf := func(layer string) []float32 { return GramMatrix(layerValue(t, m, ref, layer)) }
	cases := []struct {
		name   string
		images int
		obj    Objective
	}{
		{"channel mean", 1, Activation(Target{Layer: "act1", Unit: 2})},
		{"position", 1, Activation(Target{Layer: "conv2", Unit: 4, At: AtPoint, Y: 1, X: 2})},
		{"strongest position", 1, Activation(Target{Layer: "act2", Unit: 1, At: AtMax})},
		{"class logit", 1, Activation(Target{Layer: "logits", Unit: 3, Class: true})},
		{"channel, 2 images", 2, Activation(Target{Layer: "act2", Unit: 0})},
		{"diversity", 3, Diversity("act1", 10)},
		{"channel - diversity", 3, Sum(Activation(Target{Layer: "act2", Unit: 5}), Diversity("act2", 2))},
		{"dream", 1, DreamObjective("act1")},
		{"log prob", 2, LogProb("logits", 1)},
		{"cross-entropy", 1, Scaled(-1, LogProb("logits", 4))},
		{"feature loss", 1, FeatureLoss("act2", layerValue(t, m, ref, "act2"), 1)},
		{"style", 2, Sum(GramLoss("act1", gramOf("act1"), 1), GramLoss("act2", gramOf("act2"), 2))},
		{"L2 prior", 1, L2Prior(3)},
		{"alpha prior", 1, AlphaPrior(6, 0.5)},
		{"TV prior", 2, TVPrior(2, 0.01)},
		{"TV prior β=1", 1, TVPrior(1, 0.05)},
		{"inversion", 1, Sum(FeatureLoss("act1", layerValue(t, m, ref, "act1"), 1), AlphaPrior(6, 0.1), TVPrior(2, 0.01))},
	}
	for ci, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := &Optimization{Model: m, Space: optimSpace, Objective: tc.obj, Images: tc.images,
				Recipe: Recipe{Param: ParamPixel}}
			r, err := o.newRun()
			if err != nil {
				t.Fatal(err)
			}
			v := r.p.vars()
			copy(v, randomPixels(uint64(ci), len(v)))
			values, err := r.gradient(true)
			if err != nil {
				t.Fatal(err)
			}
			g := append([]float32(nil), r.gv...)
			total := func() float64 {
				vals, err := r.gradient(false)
				if err != nil {
					t.Fatal(err)
				}
				s := 0.0
				for _, x := range vals {
					s += x
				}
				return s
			}
			if s := total(); math.Abs(s-sumOf(values)) > 1e-9*(1+math.Abs(s)) {
				t.Fatalf("value %g with gradient, %g without", sumOf(values), s)
			}
			peak := 0.0
			for _, x := range g {
				peak = math.Max(peak, math.Abs(float64(x)))
			}
			if peak == 0 {
				t.Fatal("zero gradient: the test cannot fail")
			}
			const eps = 1e-3
			rng := rand.New(rand.NewPCG(uint64(ci), 2))
			for range 24 {
				k := rng.IntN(len(v))
				old := v[k]
				v[k] = old + eps
				up := total()
				v[k] = old - eps
				down := total()
				v[k] = old
				fd := (up - down) / (2 * eps)
				if d := math.Abs(fd - float64(g[k])); d > 2e-2*peak+1e-4 {
					t.Errorf("d/dpixel %d: gradient %g, finite difference %g (peak %g)", k, g[k], fd, peak)
				}
			}
		})
	}
}

func sumOf(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

// TestObjectiveValues checks values computed by hand on small tensors.
func TestObjectiveValues(t *testing.T) {
	// Two images of a [2, 2, 1, 2] layer.
	v := model.FromData([]float32{1, 2, 3, 4, 1, 2, 3, 4}, 2, 2, 1, 2)
	f := NewFeatures(2, map[string]*model.Tensor{"l": v}, "in", PixelSpace{})
	// Identical images: their Gram matrices coincide, cosine 1, so each
	// image's share of the diversity term is -w (1/N)(N-1) = -w/2.
	got, err := Diversity("l", 3).Eval(f, false)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got[0]+1.5) > 1e-6 || math.Abs(got[1]+1.5) > 1e-6 {
		t.Errorf("diversity of identical images = %v, want [-1.5 -1.5]", got)
	}
	// Channel 1's mean is 3.5; position (0, 0) of channel 1 is 3.
	got, _ = Activation(Target{Layer: "l", Unit: 1}).Eval(f, false)
	if got[0] != 3.5 {
		t.Errorf("channel mean = %v, want 3.5", got)
	}
	got, _ = Activation(Target{Layer: "l", Unit: 1, At: AtPoint}).Eval(f, false)
	if got[0] != 3 {
		t.Errorf("position value = %v, want 3", got)
	}
	// Dream: ½ mean(a²) = ½ (1+4+9+16)/4 = 3.75.
	got, _ = DreamObjective("l").Eval(f, false)
	if got[0] != 3.75 {
		t.Errorf("dream = %v, want 3.75", got)
	}
	// log softmax of [1, 2, 3, 4] at 3 = 4 - log(e + e² + e³ + e⁴).
	z := model.FromData([]float32{1, 2, 3, 4}, 1, 4)
	got, _ = LogProb("z", 3).Eval(NewFeatures(1, map[string]*model.Tensor{"z": z}, "in", PixelSpace{}), false)
	want := 4 - math.Log(math.E+math.Exp(2)+math.Exp(3)+math.Exp(4))
	if math.Abs(got[0]-want) > 1e-6 {
		t.Errorf("log prob = %v, want %g", got, want)
	}
	// Gram of F = [[1 2] [3 4]]: [[5 11] [11 25]]; the style loss against
	// A = [[1 0] [0 1]] is -(16+121+121+576)/2 = -417.
	one := model.FromData([]float32{1, 2, 3, 4}, 1, 2, 1, 2)
	if g := GramMatrix(one); g[0] != 5 || g[1] != 11 || g[2] != 11 || g[3] != 25 {
		t.Errorf("Gram matrix = %v, want [5 11 11 25]", g)
	}
	f1 := NewFeatures(1, map[string]*model.Tensor{"l": one}, "in", PixelSpace{})
	got, _ = GramLoss("l", []float32{1, 0, 0, 1}, 1).Eval(f1, false)
	if math.Abs(got[0]+417) > 1e-9 {
		t.Errorf("style loss = %v, want -417", got)
	}
	// Feature loss of F against 2F: -‖F‖²/‖2F‖² = -1/4, and the
	// reconstruction error 1/2.
	two := model.FromData([]float32{2, 4, 6, 8}, 1, 2, 1, 2)
	got, _ = FeatureLoss("l", two, 1).Eval(f1, false)
	if math.Abs(got[0]+0.25) > 1e-9 || ReconstructionError(one, two) != 0.5 {
		t.Errorf("feature loss = %v, error %g; want -0.25, 0.5", got, ReconstructionError(one, two))
	}
	// TV of a 1x1x2x2 image [[0 1] [0 0]] in pixel units (identity space):
	// differences at (0,0): dx 1; at (0,1): dy -1; (1,0): dx 0; sum of
	// (dx²+dy²) = 2, over 4 values, divided by V².
	img := model.FromData([]float32{0, 1, 0, 0}, 1, 1, 2, 2)
	fi := NewFeatures(1, map[string]*model.Tensor{"in": img}, "in", PixelSpace{})
	got, _ = TVPrior(2, 1).Eval(fi, false)
	if want := -2.0 / 4 / (priorV * priorV); math.Abs(got[0]-want) > 1e-9*math.Abs(want) {
		t.Errorf("TV = %v, want %g", got, want)
	}
}

// TestOptimizeRaisesActivation checks that the loop climbs: the unit's
// activation on the optimized image beats its value on the start image,
// with both parameterizations.
func TestOptimizeRaisesActivation(t *testing.T) {
	m := loadModel(t, "optim/optim")
	for _, name := range []string{"lucid", "none", "yosinski1", "yosinski4"} {
		rec, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		rec.Steps = 40
		rec.Transforms = Transforms{Jitter: 1}
		if rec.Param == ParamPixel {
			rec.Transforms = Transforms{}
		}
		o := &Optimization{Model: m, Space: optimSpace, Recipe: rec, Seed: 3,
			Objective: Activation(Target{Layer: "act2", Unit: 2})}
		r0 := *o
		r0.Steps = 1
		r0.LR = 1e-9
		start, err := Optimize(context.Background(), &r0)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Optimize(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		if !(res.Values[0] > start.Values[0]+0.1) {
			t.Errorf("%s: activation %g after %d steps, %g at the start", name, res.Values[0], res.Steps, start.Values[0])
		}
	}
}

// TestFeaturesGradPool: with a pool, Grad lends the previous step's buffer
// zeroed, and a buffer of another shape is replaced, not reused.
func TestFeaturesGradPool(t *testing.T) {
	pool := map[string]*model.Tensor{}
	vals := map[string]*model.Tensor{"l": model.NewTensor(1, 2, 3)}
	f := NewFeatures(1, vals, "l", PixelSpace{})
	f.pool = pool
	g := f.Grad("l")
	g.Data[4] = 7
	if pool["l"] != g {
		t.Fatal("the pool does not hold the buffer")
	}
	f2 := NewFeatures(1, vals, "l", PixelSpace{})
	f2.pool = pool
	g2 := f2.Grad("l")
	if &g2.Data[0] != &g.Data[0] {
		t.Error("the second step allocated a new buffer")
	}
	for i, v := range g2.Data {
		if v != 0 {
			t.Fatalf("reused gradient not zeroed: [%d] = %g", i, v)
		}
	}
	f3 := NewFeatures(1, map[string]*model.Tensor{"l": model.NewTensor(1, 3, 3)}, "l", PixelSpace{})
	f3.pool = pool
	if g3 := f3.Grad("l"); !model.SameShape(g3.Shape, []int{1, 3, 3}) || pool["l"] != g3 {
		t.Errorf("shape change: got %v, pool %v", g3.Shape, pool["l"].Shape)
	}
}
