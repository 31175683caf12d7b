package model

import (
	"math"
	"math/rand"
	"testing"
)

// modeCase is the expected input gradient of an op in each backward Mode.
type modeCase struct {
	name                      string
	k                         kernel
	in                        []*Tensor
	g                         *Tensor
	vanilla, guided, deconvnt []float32
}

func runModeCases(t *testing.T, cases []modeCase) {
	t.Helper()
	for _, c := range cases {
		for _, m := range []struct {
			mode Mode
			want []float32
		}{{Vanilla, c.vanilla}, {Guided, c.guided}, {Deconvnet, c.deconvnt}} {
			t.Run(c.name+"/"+m.mode.String(), func(t *testing.T) {
				g := ewBackward(t, c.k, c.in, c.g, m.mode, 0)
				assertClose(t, g[0], m.want, 1e-6)
			})
		}
	}
}

func TestReluFamilyForward(t *testing.T) {
	x := ewVec([]int{5}, -2, -0.5, 0, 0.5, 3)
	cases := []struct {
		op    string
		attrs Attrs
		want  []float32
	}{
		{"Relu", nil, []float32{0, 0, 0, 0.5, 3}},
		{"LeakyRelu", nil, []float32{-0.02, -0.005, 0, 0.5, 3}},
		{"LeakyRelu", Attrs{"alpha": float32(0.1)}, []float32{-0.2, -0.05, 0, 0.5, 3}},
	}
	for _, c := range cases {
		assertClose(t, runKernel(t, newKernel(t, c.op, c.attrs, []*Tensor{x}), x), c.want, 1e-7)
	}
}

// TestReluFamilyModes checks vanilla, guided and deconvnet gradients by hand.
func TestReluFamilyModes(t *testing.T) {
	x := ewVec([]int{5}, -1, 2, 3, -4, 0)
	g := ewVec([]int{5}, 1, -1, 2, 3, 5)
	// PRelu: X [1,2,1,2] per-channel slope [2,1,1] = 0.1, 0.5.
	px := ewVec([]int{1, 2, 1, 2}, -1, 2, 3, -4)
	slope := ewVec([]int{2, 1, 1}, 0.1, 0.5)
	pg := ewVec([]int{1, 2, 1, 2}, 1, -1, 2, -3)
	// Clip(0, 6) as ReLU6, bounds as inputs (opset 11+) and attributes.
	cx := ewVec([]int{5}, -1, 3, 7, 0.5, 6.5)
	cg := ewVec([]int{5}, 1, -1, 2, 3, 4)
	lo, hi := ewVec([]int{}, 0), ewVec([]int{}, 6)
	// Clip(-1, 1) is not ReLU-like: exact gradient in every mode.
	bx := ewVec([]int{4}, -2, 0.5, -0.5, 2)
	bg := ewVec([]int{4}, 1, -1, 2, 3)
	bexact := []float32{0, -1, 2, 0}
	runModeCases(t, []modeCase{
		{"Relu", newKernel(t, "Relu", nil, []*Tensor{x}), []*Tensor{x}, g,
			[]float32{0, -1, 2, 0, 0}, []float32{0, 0, 2, 0, 0}, []float32{1, 0, 2, 3, 5}},
		{"LeakyRelu", newKernel(t, "LeakyRelu", Attrs{"alpha": float32(0.1)}, []*Tensor{x}), []*Tensor{x}, g,
			[]float32{0.1, -1, 2, 0.3, 0.5}, []float32{0.1, 0, 2, 0.3, 0.5}, []float32{1, 0, 2, 3, 5}},
		{"PRelu", newKernel(t, "PRelu", nil, []*Tensor{px, slope}), []*Tensor{px, slope}, pg,
			[]float32{0.1, -1, 2, -1.5}, []float32{0.1, 0, 2, 0}, []float32{1, 0, 2, 0}},
		{"Clip0_6", newKernel(t, "Clip", nil, []*Tensor{cx, lo, hi}), []*Tensor{cx, lo, hi}, cg,
			[]float32{0, -1, 0, 3, 0}, []float32{0, 0, 0, 3, 0}, []float32{1, 0, 2, 3, 4}},
		{"Clip0_6_opset6", ewKernel(t, "Clip", 6, Attrs{"min": float32(0), "max": float32(6)}, 1), []*Tensor{cx}, cg,
			[]float32{0, -1, 0, 3, 0}, []float32{0, 0, 0, 3, 0}, []float32{1, 0, 2, 3, 4}},
		{"Clip-1_1", newKernel(t, "Clip", nil, []*Tensor{bx, ewVec([]int{}, -1), ewVec([]int{}, 1)}),
			[]*Tensor{bx, ewVec([]int{}, -1), ewVec([]int{}, 1)}, bg, bexact, bexact, bexact},
		{"Sigmoid", newKernel(t, "Sigmoid", nil, []*Tensor{x}), []*Tensor{ewVec([]int{1}, 0)}, ewVec([]int{1}, -2),
			[]float32{-0.5}, []float32{-0.5}, []float32{-0.5}},
	})
}

func TestPRelu(t *testing.T) {
	px := ewVec([]int{1, 2, 1, 2}, -1, 2, 3, -4)
	slope := ewVec([]int{2, 1, 1}, 0.1, 0.5)
	k := newKernel(t, "PRelu", nil, []*Tensor{px, slope})
	assertClose(t, runKernel(t, k, px, slope), []float32{-0.1, 2, 3, -2}, 1e-7)
	// dslope = sum of X*G where X <= 0: channel 0: -1*1, channel 1: -4*-3.
	g := ewBackward(t, k, []*Tensor{px, slope}, ewVec([]int{1, 2, 1, 2}, 1, -1, 2, -3), Guided, 1)
	assertClose(t, g[1], []float32{-1, 12}, 1e-6)

	r := rand.New(rand.NewSource(2))
	for _, sshape := range [][]int{{3, 1, 1}, {1}, {5}, {2, 1, 4, 1}, {3}} {
		x := ewAvoid(randTensor(r, 2, 3, 4, 5), 0)
		s := ewRand(r, -0.5, 1.5, sshape...)
		k := newKernel(t, "PRelu", nil, []*Tensor{x, s})
		t.Run(ShapeString(sshape), func(t *testing.T) {
			checkGrad(t, k, []*Tensor{x, s}, 0, 1e-3, 1e-3)
			checkGrad(t, k, []*Tensor{x, s}, 1, 1e-3, 1e-3)
		})
	}
	// A 1-D slope of length C that does not broadcast applies per channel.
	x := ewVec([]int{1, 3, 1, 2}, -1, -1, -1, -1, -1, -1)
	y := runKernel(t, newKernel(t, "PRelu", nil, make([]*Tensor, 2)), x, ewVec([]int{3}, 1, 2, 3))
	assertClose(t, y, []float32{-1, -1, -2, -2, -3, -3}, 1e-7)
	if _, err := newKernel(t, "PRelu", nil, make([]*Tensor, 2)).forward(newScratch(), []*Tensor{x, ewVec([]int{4}, 1, 2, 3, 4)}); err == nil {
		t.Error("PRelu accepted a slope [4] for X [1 3 1 2]")
	}
}

func TestReluGrad(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	x := ewAvoid(randTensor(r, 2, 3, 4, 5), 0)
	checkGrad(t, newKernel(t, "Relu", nil, []*Tensor{x}), []*Tensor{x}, 0, 1e-3, 1e-3)
	checkGrad(t, newKernel(t, "LeakyRelu", Attrs{"alpha": float32(0.2)}, []*Tensor{x}), []*Tensor{x}, 0, 1e-3, 1e-3)
	checkGrad(t, newKernel(t, "LeakyRelu", nil, []*Tensor{x}), []*Tensor{x}, 0, 1e-3, 1e-3)
}

func TestClip(t *testing.T) {
	x := ewVec([]int{5}, -3, -1, 0, 2, 8)
	s := func(v float32) *Tensor { return ewVec([]int{}, v) }
	cases := []struct {
		name string
		k    kernel
		in   []*Tensor
		want []float32
	}{
		{"both", newKernel(t, "Clip", nil, make([]*Tensor, 3)), []*Tensor{x, s(-1), s(5)}, []float32{-1, -1, 0, 2, 5}},
		{"min only", newKernel(t, "Clip", nil, make([]*Tensor, 2)), []*Tensor{x, s(0)}, []float32{0, 0, 0, 2, 8}},
		{"max only", newKernel(t, "Clip", nil, make([]*Tensor, 3)), []*Tensor{x, nil, s(1)}, []float32{-3, -1, 0, 1, 1}},
		{"none", newKernel(t, "Clip", nil, make([]*Tensor, 1)), []*Tensor{x}, []float32{-3, -1, 0, 2, 8}},
		{"min > max gives max", newKernel(t, "Clip", nil, make([]*Tensor, 3)), []*Tensor{x, s(2), s(1)}, []float32{1, 1, 1, 1, 1}},
		{"opset 6 attrs", ewKernel(t, "Clip", 6, Attrs{"min": float32(-2), "max": float32(1)}, 1), []*Tensor{x}, []float32{-2, -1, 0, 1, 1}},
		{"opset 6 defaults", ewKernel(t, "Clip", 6, nil, 1), []*Tensor{x}, []float32{-3, -1, 0, 2, 8}},
	}
	for _, c := range cases {
		out, err := c.k.forward(newScratch(), c.in)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		assertClose(t, out[0], c.want, 0)
	}

	// Integer Clip (opset 12+; narrower integer types arrive as int64).
	k := newKernel(t, "Clip", nil, make([]*Tensor, 3))
	got := runKernel(t, k, FromInts([]int64{-5, 0, 5, 9}, 4), nil, FromInts([]int64{4}))
	if got.DType != Int64 || got.Ints[0] != -5 || got.Ints[2] != 4 || got.Ints[3] != 4 {
		t.Errorf("int64 Clip(max 4) = %v %v", got, got.Ints)
	}
	if _, err := k.forward(newScratch(), []*Tensor{x, ewVec([]int{2}, 0, 1)}); err == nil {
		t.Error("Clip accepted a min of shape [2]")
	}

	// Gradients of X and of both bounds.
	r := rand.New(rand.NewSource(5))
	in := []*Tensor{ewAvoid(ewRand(r, -1, 1, 3, 4, 5), -0.5, 0.4), s(-0.5), s(0.4)}
	for i := range 3 {
		checkGrad(t, k, in, i, 1e-3, 1e-3)
	}
	x6 := ewAvoid(ewRand(r, -3, 9, 3, 4, 5), 0, 6)
	checkGrad(t, ewKernel(t, "Clip", 6, Attrs{"min": float32(0), "max": float32(6)}, 1), []*Tensor{x6}, 0, 1e-3, 1e-3)
}

func TestSmoothActivations(t *testing.T) {
	x := ewVec([]int{6}, -100, -1, 0, 1, 2, 100)
	sig := func(v float64) float32 { return float32(1 / (1 + math.Exp(-v))) }
	th := func(v float64) float32 { return float32(math.Tanh(v)) }
	cases := []struct {
		op    string
		attrs Attrs
		x     *Tensor
		want  []float32
	}{
		{"Sigmoid", nil, x, []float32{0, sig(-1), 0.5, sig(1), sig(2), 1}},
		{"Tanh", nil, x, []float32{-1, th(-1), 0, th(1), th(2), 1}},
		// ONNX test_hardsigmoid_example: alpha 0.5, beta 0.6.
		{"HardSigmoid", Attrs{"alpha": float32(0.5), "beta": float32(0.6)}, ewVec([]int{3}, -1, 0, 1), []float32{0.1, 0.6, 1}},
		{"HardSigmoid", nil, ewVec([]int{4}, -3, 0, 1, 3), []float32{0, 0.5, 0.7, 1}},
		{"HardSwish", nil, ewVec([]int{6}, -4, -3, 0, 1, 3, 4), []float32{0, 0, 0, 2.0 / 3, 3, 4}},
	}
	for _, c := range cases {
		got := runKernel(t, newKernel(t, c.op, c.attrs, []*Tensor{c.x}), c.x)
		assertClose(t, got, c.want, 1e-6)
		for _, v := range got.Data {
			if math.IsNaN(float64(v)) {
				t.Errorf("%s: NaN in %v", c.op, got.Data)
			}
		}
	}

	r := rand.New(rand.NewSource(6))
	grads := []struct {
		op    string
		attrs Attrs
		x     *Tensor
	}{
		{"Sigmoid", nil, ewRand(r, -4, 4, 2, 3, 4)},
		{"Tanh", nil, ewRand(r, -2, 2, 2, 3, 4)},
		{"HardSigmoid", nil, ewAvoid(ewRand(r, -4, 4, 2, 3, 4), -2.5, 2.5)},
		{"HardSigmoid", Attrs{"alpha": float32(0.5), "beta": float32(0.6)}, ewAvoid(ewRand(r, -3, 3, 2, 3, 4), -1.2, 0.8)},
		{"HardSwish", nil, ewAvoid(ewRand(r, -5, 5, 2, 3, 4), -3, 3)},
	}
	for _, c := range grads {
		checkGrad(t, newKernel(t, c.op, c.attrs, []*Tensor{c.x}), []*Tensor{c.x}, 0, 1e-3, 1e-3)
	}
}

// TestSoftmaxOpsets checks that opset < 13 normalises over the flattened
// trailing dimensions from axis while opset >= 13 normalises along axis.
func TestSoftmaxOpsets(t *testing.T) {
	// X [2,2,3] = log(1..12), so softmax is a ratio of the values.
	x := NewTensor(2, 2, 3)
	for i := range x.Data {
		x.Data[i] = float32(math.Log(float64(i + 1)))
	}
	ratio := func(num []float64, den []float64) []float32 {
		out := make([]float32, len(num))
		for i := range num {
			out[i] = float32(num[i] / den[i])
		}
		return out
	}
	seq := func(lo, hi int) []float64 {
		var s []float64
		for v := lo; v <= hi; v++ {
			s = append(s, float64(v))
		}
		return s
	}
	rep := func(v float64, n int) []float64 {
		s := make([]float64, n)
		for i := range s {
			s[i] = v
		}
		return s
	}
	cat := func(ss ...[]float64) []float64 {
		var s []float64
		for _, x := range ss {
			s = append(s, x...)
		}
		return s
	}
	cases := []struct {
		name  string
		opset int
		attrs Attrs
		want  []float32
	}{
		// Opset 11, axis 1 (default): rows of 6: sums 21 and 57.
		{"opset11/axis1", 11, Attrs{"axis": int64(1)}, ratio(seq(1, 12), cat(rep(21, 6), rep(57, 6)))},
		{"opset11/default", 11, nil, ratio(seq(1, 12), cat(rep(21, 6), rep(57, 6)))},
		// Opset 13, axis 1: pairs (1,4), (2,5), (3,6), (7,10), ...
		{"opset13/axis1", 13, Attrs{"axis": int64(1)}, ratio(seq(1, 12), []float64{5, 7, 9, 5, 7, 9, 17, 19, 21, 17, 19, 21})},
		// Opset 13, default -1: rows of 3.
		{"opset13/default", 13, nil, ratio(seq(1, 12), []float64{6, 6, 6, 15, 15, 15, 24, 24, 24, 33, 33, 33})},
		// Axis 0 with opset 11 is one group of 12.
		{"opset11/axis0", 11, Attrs{"axis": int64(0)}, ratio(seq(1, 12), rep(78, 12))},
		{"opset13/axis-3", 13, Attrs{"axis": int64(-3)}, ratio(seq(1, 12), []float64{8, 10, 12, 14, 16, 18, 8, 10, 12, 14, 16, 18})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := ewKernel(t, "Softmax", c.opset, c.attrs, 1)
			assertClose(t, runKernel(t, k, x), c.want, 1e-6)
			lk := ewKernel(t, "LogSoftmax", c.opset, c.attrs, 1)
			logWant := make([]float32, len(c.want))
			for i, v := range c.want {
				logWant[i] = float32(math.Log(float64(v)))
			}
			assertClose(t, runKernel(t, lk, x), logWant, 1e-5)
		})
	}

	// Gradients for every grouping on a random 3-D input.
	r := rand.New(rand.NewSource(8))
	xr := ewRand(r, -3, 3, 2, 3, 4)
	for _, op := range []string{"Softmax", "LogSoftmax"} {
		for _, opset := range []int{11, 13} {
			for _, axis := range []int{0, 1, 2, -1} {
				k := ewKernel(t, op, opset, Attrs{"axis": int64(axis)}, 1)
				checkGrad(t, k, []*Tensor{xr}, 0, 1e-3, 1e-3)
			}
		}
	}

	// Large inputs do not overflow; an out-of-range axis is an error.
	big := ewVec([]int{3}, 1000, 1001, 1002)
	e := 1 + math.E + math.E*math.E
	assertClose(t, runKernel(t, ewKernel(t, "Softmax", 13, nil, 1), big),
		[]float32{float32(1 / e), float32(math.E / e), float32(math.E * math.E / e)}, 1e-6)
	if _, err := ewKernel(t, "Softmax", 13, Attrs{"axis": int64(3)}, 1).forward(newScratch(), []*Tensor{x}); err == nil {
		t.Error("Softmax accepted axis 3 for a 3-D input")
	}
}

// TestActivationLarge runs the parallel paths (> 256K elements) of a unary
// op and its mode-dependent backward against plain loops.
func TestActivationLarge(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	x := randTensor(r, 1, 8, 200, 200)
	g := randTensor(r, 1, 8, 200, 200)
	k := newKernel(t, "LeakyRelu", Attrs{"alpha": float32(0.1)}, []*Tensor{x})
	y := runKernel(t, k, x)
	gr := ewBackward(t, k, []*Tensor{x}, g, Guided, 0)
	wantY := make([]float32, len(x.Data))
	wantG := make([]float32, len(x.Data))
	for i, v := range x.Data {
		wantY[i], wantG[i] = v, max(g.Data[i], 0)
		if v < 0 {
			wantY[i], wantG[i] = 0.1*v, 0.1*max(g.Data[i], 0)
		}
	}
	assertClose(t, y, wantY, 1e-7)
	assertClose(t, gr[0], wantG, 1e-7)
}

// TestExpf compares the float32 exponential with math.Exp over its range.
func TestExpf(t *testing.T) {
	var worst float64
	for x := -87.3; x <= 88.3; x += 0.00731 {
		got, want := float64(expf(float32(x))), math.Exp(float64(float32(x)))
		worst = max(worst, math.Abs(got-want)/want)
	}
	if worst > 3e-7 {
		t.Errorf("expf max relative error %.3g, want <= 3e-7 (2.5 ulp)", worst)
	}
	if expf(-1000) != 0 || !math.IsInf(float64(expf(1000)), 1) || expf(0) != 1 || !math.IsNaN(float64(expf(float32(math.NaN())))) {
		t.Errorf("expf(-1000, 1000, 0, NaN) = %v, %v, %v, %v", expf(-1000), expf(1000), expf(0), expf(float32(math.NaN())))
	}
}
