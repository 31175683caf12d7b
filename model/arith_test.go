package model

import (
	"math/rand"
	"strings"
	"testing"
)

// Test helpers of the elementwise op tests (prefix ew).

// ewKernel builds op at the given opset for a node with nIn inputs.
func ewKernel(t testing.TB, op string, opset int, attrs Attrs, nIn int) kernel {
	t.Helper()
	if attrs == nil {
		attrs = Attrs{}
	}
	n := &nodeInfo{Name: "test_" + op, Op: op, Opset: opset, Attrs: attrs, Inputs: nIn, Outputs: 1, Const: make([]*Tensor, nIn)}
	k, err := registry[op](n)
	if err != nil {
		t.Fatalf("build %s: %v", op, err)
	}
	return k
}

// ewBackward runs forward then backward with upstream gradient g and
// returns the gradients of the inputs flagged in need.
func ewBackward(t testing.TB, k kernel, in []*Tensor, g *Tensor, mode Mode, need ...int) []*Tensor {
	t.Helper()
	s := newScratch()
	out, err := k.forward(s, in)
	if err != nil {
		t.Fatalf("forward: %v", err)
	}
	nd := make([]bool, len(in))
	for _, i := range need {
		nd[i] = true
	}
	grads, err := k.backward(s, in, out, []*Tensor{g}, nd, mode)
	if err != nil {
		t.Fatalf("backward: %v", err)
	}
	for _, i := range need {
		if grads[i] == nil || !SameShape(grads[i].Shape, in[i].Shape) {
			t.Fatalf("gradient %d is %v, want shape %v", i, grads[i], in[i].Shape)
		}
	}
	return grads
}

// ewVec returns a float32 tensor of the given shape holding v.
func ewVec(shape []int, v ...float32) *Tensor { return FromData(v, shape...) }

// ewShift returns r-random values in [lo, hi) shaped shape.
func ewRand(r *rand.Rand, lo, hi float32, shape ...int) *Tensor {
	x := randTensor(r, shape...)
	for i, v := range x.Data {
		x.Data[i] = lo + (v+1)/2*(hi-lo)
	}
	return x
}

// ewAvoid moves values within 0.02 of any kink to 0.05 above it, so finite
// differences do not straddle a kink.
func ewAvoid(x *Tensor, kinks ...float32) *Tensor {
	for i, v := range x.Data {
		for _, k := range kinks {
			if v > k-0.02 && v < k+0.02 {
				x.Data[i] = k + 0.05
			}
		}
	}
	return x
}

func TestBroadcastShape(t *testing.T) {
	cases := []struct {
		a, b, want []int
	}{
		{[]int{2, 3, 4, 5}, []int{}, []int{2, 3, 4, 5}},
		{[]int{2, 3, 4, 5}, []int{5}, []int{2, 3, 4, 5}},
		{[]int{4, 5}, []int{2, 3, 4, 5}, []int{2, 3, 4, 5}},
		{[]int{1, 4, 5}, []int{2, 3, 1, 1}, []int{2, 3, 4, 5}},
		{[]int{3, 4, 5}, []int{2, 1, 1, 1}, []int{2, 3, 4, 5}},
		{[]int{0, 3}, []int{1, 3}, []int{0, 3}},
		{[]int{2, 3}, []int{4, 3}, nil},
		{[]int{3}, []int{4}, nil},
	}
	for _, c := range cases {
		got, err := broadcastShape(c.a, c.b)
		if c.want == nil {
			if err == nil {
				t.Errorf("broadcastShape(%v, %v) = %v, want an error", c.a, c.b, got)
			}
			continue
		}
		if err != nil || !SameShape(got, c.want) {
			t.Errorf("broadcastShape(%v, %v) = %v, %v; want %v", c.a, c.b, got, err, c.want)
		}
	}
	if !canBroadcastTo([]int{3, 1, 1}, []int{2, 3, 4, 5}) || canBroadcastTo([]int{2, 3, 4, 5}, []int{3, 4, 5}) || canBroadcastTo([]int{4}, []int{4, 5}) {
		t.Error("canBroadcastTo is wrong")
	}
}

// TestBcastPlanCollapses checks that the usual patterns walk in few long runs.
func TestBcastPlanCollapses(t *testing.T) {
	cases := []struct {
		a, b []int
		dims []int
	}{
		{[]int{2, 3, 4, 5}, []int{2, 3, 4, 5}, []int{120}},
		{[]int{2, 3, 4, 5}, []int{}, []int{120}},
		{[]int{2, 3, 4, 5}, []int{3, 1, 1}, []int{2, 3, 20}},
		{[]int{1, 3, 4, 5}, []int{1, 3, 1, 1}, []int{3, 20}},
		{[]int{2, 3, 4, 5}, []int{2, 1, 4, 1}, []int{2, 3, 4, 5}},
	}
	for _, c := range cases {
		shape, _ := broadcastShape(c.a, c.b)
		p := newBcastPlan(shape, c.a, c.b)
		if !SameShape(p.dims, c.dims) {
			t.Errorf("plan for %v, %v: dims %v, want %v", c.a, c.b, p.dims, c.dims)
		}
	}
}

func TestArithHandValues(t *testing.T) {
	a := ewVec([]int{2, 3}, 1, 2, 3, 4, 5, 6)
	cases := []struct {
		op   string
		b    *Tensor
		want []float32
	}{
		{"Add", ewVec([]int{3}, 10, 20, 30), []float32{11, 22, 33, 14, 25, 36}},
		{"Add", ewVec([]int{2, 1}, 10, 20), []float32{11, 12, 13, 24, 25, 26}},
		{"Sub", ewVec([]int{}, 1), []float32{0, 1, 2, 3, 4, 5}},
		{"Sub", ewVec([]int{2, 1}, 1, 2), []float32{0, 1, 2, 2, 3, 4}},
		{"Mul", ewVec([]int{1, 3}, 2, 0, -1), []float32{2, 0, -3, 8, 0, -6}},
		{"Div", ewVec([]int{3}, 2, 4, 0.5), []float32{0.5, 0.5, 6, 2, 1.25, 12}},
	}
	for _, c := range cases {
		k := newKernel(t, c.op, nil, []*Tensor{a, c.b})
		got := runKernel(t, k, a, c.b)
		if !SameShape(got.Shape, []int{2, 3}) {
			t.Errorf("%s %v: shape %v", c.op, c.b.Shape, got.Shape)
		}
		assertClose(t, got, c.want, 1e-6)
	}
	// Broadcasting both ways: [2,1] - [3] -> [2,3].
	k := newKernel(t, "Sub", nil, make([]*Tensor, 2))
	got := runKernel(t, k, ewVec([]int{2, 1}, 10, 20), ewVec([]int{3}, 1, 2, 3))
	if !SameShape(got.Shape, []int{2, 3}) {
		t.Fatalf("shape %v, want [2 3]", got.Shape)
	}
	assertClose(t, got, []float32{9, 8, 7, 19, 18, 17}, 1e-6)
	// Scalar on the left: 1 / [2, 4].
	k = newKernel(t, "Div", nil, make([]*Tensor, 2))
	assertClose(t, runKernel(t, k, ewVec([]int{}, 1), ewVec([]int{2}, 2, 4)), []float32{0.5, 0.25}, 1e-6)
}

func TestArithInt64(t *testing.T) {
	a := FromInts([]int64{-7, 7, 9, 224}, 4)
	cases := []struct {
		op   string
		b    *Tensor
		want []int64
	}{
		{"Add", FromInts([]int64{1}, 1), []int64{-6, 8, 10, 225}},
		{"Sub", FromInts([]int64{1, 2, 3, 4}, 4), []int64{-8, 5, 6, 220}},
		{"Mul", FromInts([]int64{3}, 1), []int64{-21, 21, 27, 672}},
		// Integer division truncates toward zero (C, ONNX Runtime, ONNX reference).
		{"Div", FromInts([]int64{2}, 1), []int64{-3, 3, 4, 112}},
	}
	for _, c := range cases {
		k := newKernel(t, c.op, nil, make([]*Tensor, 2))
		got := runKernel(t, k, a, c.b)
		if got.DType != Int64 || !SameShape(got.Shape, []int{4}) {
			t.Fatalf("%s: got %v, want int64[4]", c.op, got)
		}
		for i, w := range c.want {
			if got.Ints[i] != w {
				t.Errorf("%s: got %v, want %v", c.op, got.Ints, c.want)
				break
			}
		}
	}
	// Shape arithmetic: a scalar times a 1-D shape.
	k := newKernel(t, "Mul", nil, make([]*Tensor, 2))
	got := runKernel(t, k, FromInts([]int64{2}), FromInts([]int64{3, 5}, 2))
	if got.Ints[0] != 6 || got.Ints[1] != 10 || !SameShape(got.Shape, []int{2}) {
		t.Errorf("2 * [3 5] = %v %v", got.Shape, got.Ints)
	}
}

func TestArithErrors(t *testing.T) {
	k := newKernel(t, "Div", nil, make([]*Tensor, 2))
	cases := []struct {
		a, b *Tensor
		msg  string
	}{
		{FromInts([]int64{1, 2}, 2), FromInts([]int64{1, 0}, 2), "division by zero"},
		{FromInts([]int64{1, 2}, 2), ewVec([]int{2}, 1, 2), "types differ"},
		{NewTensor(2, 3), NewTensor(4, 3), "broadcast"},
	}
	for _, c := range cases {
		_, err := k.forward(newScratch(), []*Tensor{c.a, c.b})
		if err == nil || !strings.Contains(err.Error(), c.msg) || !strings.Contains(err.Error(), "test_Div") {
			t.Errorf("Div(%v, %v): error %v, want one naming the node and containing %q", c.a, c.b, err, c.msg)
		}
	}
}

// TestArithGrad checks both gradients of each op for each broadcast pattern.
func TestArithGrad(t *testing.T) {
	patterns := [][2][]int{
		{{2, 3, 4, 5}, {2, 3, 4, 5}},
		{{2, 3, 4, 5}, {3, 1, 1}},
		{{2, 3, 4, 5}, {1}},
		{{2, 3, 4, 5}, {}},
		{{2, 3, 4, 5}, {5}},
		{{2, 3, 4, 5}, {2, 1, 4, 1}},
		{{3, 1, 1}, {2, 3, 4, 5}},
		{{2, 1, 5}, {3, 1}},
	}
	r := rand.New(rand.NewSource(1))
	for _, op := range []string{"Add", "Sub", "Mul", "Div"} {
		for _, p := range patterns {
			a := ewRand(r, -2, 2, p[0]...)
			b := ewRand(r, -2, 2, p[1]...)
			if op == "Div" {
				b = ewRand(r, 0.5, 2, p[1]...)
				for i := range b.Data {
					if i%2 == 1 {
						b.Data[i] = -b.Data[i]
					}
				}
			}
			k := newKernel(t, op, nil, []*Tensor{a, b})
			t.Run(op+"/"+ShapeString(p[0])+"_"+ShapeString(p[1]), func(t *testing.T) {
				checkGrad(t, k, []*Tensor{a, b}, 0, 1e-2, 1e-3)
				checkGrad(t, k, []*Tensor{a, b}, 1, 1e-2, 1e-3)
			})
		}
	}
}

// TestArithGradHand checks broadcast gradient sums by hand.
func TestArithGradHand(t *testing.T) {
	a := ewVec([]int{2, 2}, 1, 2, 3, 4)
	b := ewVec([]int{2}, 2, -1)
	g := ewVec([]int{2, 2}, 1, 10, 100, 1000)
	cases := []struct {
		op     string
		ga, gb []float32
	}{
		{"Add", []float32{1, 10, 100, 1000}, []float32{101, 1010}},
		{"Sub", []float32{1, 10, 100, 1000}, []float32{-101, -1010}},
		// dA = G*B; dB = sum over rows of G*A.
		{"Mul", []float32{2, -10, 200, -1000}, []float32{1 + 300, 20 + 4000}},
		// dA = G/B; dB = sum of -G*A/B².
		{"Div", []float32{0.5, -10, 50, -1000}, []float32{-(1*1 + 100*3) / 4.0, -(10*2 + 1000*4) / 1.0}},
	}
	for _, c := range cases {
		k := newKernel(t, c.op, nil, []*Tensor{a, b})
		g := ewBackward(t, k, []*Tensor{a, b}, g, Vanilla, 0, 1)
		assertClose(t, g[0], c.ga, 1e-6)
		assertClose(t, g[1], c.gb, 1e-6)
	}
	// Only the needed gradient is computed.
	k := newKernel(t, "Mul", nil, []*Tensor{a, b})
	if gr := ewBackward(t, k, []*Tensor{a, b}, g, Vanilla, 0); gr[1] != nil {
		t.Error("Mul computed the gradient of an input that is not needed")
	}
}

// TestArithLegacyBroadcast checks the pre-opset-7 broadcast/axis attributes.
func TestArithLegacyBroadcast(t *testing.T) {
	a := arangeEW(2, 3, 2)
	b := ewVec([]int{3}, 100, 200, 300)
	k := ewKernel(t, "Add", 6, Attrs{"broadcast": int64(1), "axis": int64(1)}, 2)
	got := runKernel(t, k, a, b)
	assertClose(t, got, []float32{100, 101, 202, 203, 304, 305, 106, 107, 208, 209, 310, 311}, 1e-6)
	checkGrad(t, k, []*Tensor{a, b}, 1, 1e-2, 1e-3)
	// Without axis: trailing alignment, as numpy.
	k = ewKernel(t, "Mul", 6, Attrs{"broadcast": int64(1)}, 2)
	got = runKernel(t, k, a, ewVec([]int{2}, 1, -1))
	assertClose(t, got, []float32{0, -1, 2, -3, 4, -5, 6, -7, 8, -9, 10, -11}, 1e-6)
	// Without broadcast=1 the shapes must match.
	k = ewKernel(t, "Add", 6, nil, 2)
	if _, err := k.forward(newScratch(), []*Tensor{a, b}); err == nil {
		t.Error("legacy Add without broadcast accepted shapes [2 3 2] and [3]")
	}
}

// arangeEW returns 0, 1, 2, ... shaped shape.
func arangeEW(shape ...int) *Tensor {
	x := NewTensor(shape...)
	for i := range x.Data {
		x.Data[i] = float32(i)
	}
	return x
}

func TestSum(t *testing.T) {
	a := ewVec([]int{2, 3}, 1, 2, 3, 4, 5, 6)
	b := ewVec([]int{3}, 10, 20, 30)
	c := ewVec([]int{2, 1}, 100, 200)
	k := newKernel(t, "Sum", nil, []*Tensor{a, b, c})
	assertClose(t, runKernel(t, k, a, b, c), []float32{111, 122, 133, 214, 225, 236}, 1e-6)
	g := ewBackward(t, k, []*Tensor{a, b, c}, ewVec([]int{2, 3}, 1, 2, 3, 4, 5, 6), Vanilla, 0, 1, 2)
	assertClose(t, g[0], []float32{1, 2, 3, 4, 5, 6}, 1e-6)
	assertClose(t, g[1], []float32{5, 7, 9}, 1e-6)
	assertClose(t, g[2], []float32{6, 15}, 1e-6)
	for i := range 3 {
		checkGrad(t, k, []*Tensor{a, b, c}, i, 1e-2, 1e-3)
	}

	one := newKernel(t, "Sum", nil, []*Tensor{a})
	got := runKernel(t, one, a)
	assertClose(t, got, a.Data, 0)
	if &got.Data[0] == &a.Data[0] {
		t.Error("Sum of one input returned its input's buffer")
	}
}

// TestArithLarge exercises the parallel paths (> 256K elements) against
// plain loops: a per-channel Mul forward and the reduction of its gradient.
func TestArithLarge(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	const c, hw = 16, 130 * 130
	x := randTensor(r, 1, c, 130, 130)
	w := randTensor(r, c, 1, 1)
	k := newKernel(t, "Mul", nil, []*Tensor{x, w})
	y := runKernel(t, k, x, w)
	want := make([]float32, len(x.Data))
	for i := range want {
		want[i] = x.Data[i] * w.Data[i/hw]
	}
	assertClose(t, y, want, 1e-6)

	g := randTensor(r, 1, c, 130, 130)
	grads := ewBackward(t, k, []*Tensor{x, w}, g, Vanilla, 0, 1)
	gw := make([]float32, c)
	for ch := range gw {
		var sum float64
		for i := ch * hw; i < (ch+1)*hw; i++ {
			sum += float64(g.Data[i]) * float64(x.Data[i])
		}
		gw[ch] = float32(sum)
	}
	assertClose(t, grads[1], gw, 1e-4)
	for i := range want {
		want[i] = g.Data[i] * w.Data[i/hw]
	}
	assertClose(t, grads[0], want, 1e-6)

	// A reduction whose parallel parts share target elements: [2, N] -> [N]
	// splits the rows between parts.
	big := randTensor(r, 2, 150000)
	sum := sumToShape(newScratch(), big, []int{150000})
	wantSum := make([]float32, 150000)
	for i := range wantSum {
		wantSum[i] = big.Data[i] + big.Data[150000+i]
	}
	assertClose(t, sum, wantSum, 1e-6)
}
