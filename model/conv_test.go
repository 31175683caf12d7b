package model

import (
	"math"
	"math/rand"
	"strings"
	"testing"
)

// convInts converts attribute values to the []int64 the loader produces.
func convInts(v ...int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

// convRamp returns 0, 1, 2, ... as a tensor of the given shape.
func convRamp(shape ...int) *Tensor {
	t := NewTensor(shape...)
	for i := range t.Data {
		t.Data[i] = float32(i)
	}
	return t
}

// convOnes returns a tensor of ones.
func convOnes(shape ...int) *Tensor {
	t := NewTensor(shape...)
	for i := range t.Data {
		t.Data[i] = 1
	}
	return t
}

// runDirty runs k's forward pass on a Scratch whose free buffers hold NaN
// (left over from a previous run), so a kernel that reads a buffer it got
// from FloatsNoZero before writing it fails.
func runDirty(t testing.TB, k kernel, in ...*Tensor) *Tensor {
	t.Helper()
	s := newScratch()
	if _, err := k.forward(s, in); err != nil {
		t.Fatalf("forward: %v", err)
	}
	s.reset()
	for _, bufs := range s.free {
		for _, b := range bufs {
			for i := range b {
				b[i] = float32(math.NaN())
			}
		}
	}
	out, err := k.forward(s, in)
	if err != nil {
		t.Fatalf("forward: %v", err)
	}
	for i, v := range out[0].Data {
		if math.IsNaN(float64(v)) { // assertClose would not notice
			t.Fatalf("output %d is NaN: a buffer was read before written", i)
		}
	}
	return out[0]
}

// refConv is a direct transcription of the ONNX Conv formula, in float64,
// with explicit begin/end pads:
// Y[n, m, o...] = B[m] + Σ X[n, g*C/G + c, o*s - pad + t*d] * W[m, c, t...].
func refConv(x, w, b *Tensor, group int, strides, dil, padBegin, padEnd []int) *Tensor {
	r := x.Rank() - 2
	cg, mg := x.Shape[1]/group, w.Shape[0]/group
	out := []int{x.Shape[0], w.Shape[0]}
	for i := 0; i < r; i++ {
		ext := (w.Shape[2+i]-1)*dil[i] + 1
		out = append(out, (x.Shape[2+i]+padBegin[i]+padEnd[i]-ext)/strides[i]+1)
	}
	y := NewTensor(out...)
	ys, xs, ws := Strides(y.Shape), Strides(x.Shape), Strides(w.Shape)
	perM := NumElements(w.Shape[1:])
	idx := make([]int, len(out))
	for yi := range y.Data {
		rem := yi
		for d := range out {
			idx[d], rem = rem/ys[d], rem%ys[d]
		}
		n, m := idx[0], idx[1]
		var sum float64
		if b != nil {
			sum = float64(b.Data[m])
		}
		for wi := 0; wi < perM; wi++ {
			c, rem := wi/ws[1], wi%ws[1]
			xo := n*xs[0] + ((m/mg)*cg+c)*xs[1]
			inside := true
			for d := 0; d < r; d++ {
				t := rem / ws[2+d]
				rem %= ws[2+d]
				pos := idx[2+d]*strides[d] - padBegin[d] + t*dil[d]
				if pos < 0 || pos >= x.Shape[2+d] {
					inside = false
					break
				}
				xo += pos * xs[2+d]
			}
			if inside {
				sum += float64(x.Data[xo]) * float64(w.Data[m*ws[0]+wi])
			}
		}
		y.Data[yi] = float32(sum)
	}
	return y
}

// refConvTranspose scatters every X value through the kernel, in float64:
// Y[n, g*M/G + m, o*s - pad + t*d] += X[n, c, o...] * W[c, m, t...], with the
// output's spatial size given.
func refConvTranspose(x, w, b *Tensor, group int, strides, dil, padBegin, outSpatial []int) *Tensor {
	r := x.Rank() - 2
	cg, mg := x.Shape[1]/group, w.Shape[1]
	y64 := make([]float64, x.Shape[0]*mg*group*NumElements(outSpatial))
	yShape := append([]int{x.Shape[0], mg * group}, outSpatial...)
	ys, xs, ws := Strides(yShape), Strides(x.Shape), Strides(w.Shape)
	idx := make([]int, x.Rank())
	for xi, xv := range x.Data {
		rem := xi
		for d := range idx {
			idx[d], rem = rem/xs[d], rem%xs[d]
		}
		n, c := idx[0], idx[1]
		for wi := 0; wi < ws[0]; wi++ {
			m, rem := wi/ws[1], wi%ws[1]
			yo := n*ys[0] + ((c/cg)*mg+m)*ys[1]
			inside := true
			for d := 0; d < r; d++ {
				t := rem / ws[2+d]
				rem %= ws[2+d]
				pos := idx[2+d]*strides[d] - padBegin[d] + t*dil[d]
				if pos < 0 || pos >= outSpatial[d] {
					inside = false
					break
				}
				yo += pos * ys[2+d]
			}
			if inside {
				y64[yo] += float64(xv) * float64(w.Data[c*ws[0]+wi])
			}
		}
	}
	y := NewTensor(yShape...)
	for i, v := range y64 {
		if b != nil {
			v += float64(b.Data[i/ys[1]%yShape[1]])
		}
		y.Data[i] = float32(v)
	}
	return y
}

func TestConvHandValues(t *testing.T) {
	// The ONNX operator examples: a 5x5 (or 7x5) ramp convolved with a 3x3
	// box filter.
	x55, x75, w := convRamp(1, 1, 5, 5), convRamp(1, 1, 7, 5), convOnes(1, 1, 3, 3)
	cases := []struct {
		name  string
		attrs Attrs
		x     *Tensor
		shape []int
		want  []float32
	}{
		{"pad1", Attrs{"kernel_shape": convInts(3, 3), "pads": convInts(1, 1, 1, 1)}, x55, []int{1, 1, 5, 5}, []float32{
			12, 21, 27, 33, 24, 33, 54, 63, 72, 51, 63, 99, 108, 117, 81, 93, 144, 153, 162, 111, 72, 111, 117, 123, 84}},
		{"nopad", Attrs{}, x55, []int{1, 1, 3, 3}, []float32{54, 63, 72, 99, 108, 117, 144, 153, 162}},
		{"stride2 asymmetric pads", Attrs{"strides": convInts(2, 2), "pads": convInts(1, 0, 1, 0)}, x75, []int{1, 1, 4, 2}, []float32{
			21, 33, 99, 117, 189, 207, 171, 183}},
		{"stride2 pad1", Attrs{"strides": convInts(2, 2), "pads": convInts(1, 1, 1, 1)}, x75, []int{1, 1, 4, 3}, []float32{
			12, 27, 24, 63, 108, 81, 123, 198, 141, 112, 177, 124}},
		{"SAME_LOWER stride2", Attrs{"auto_pad": "SAME_LOWER", "strides": convInts(2, 2)}, x55, []int{1, 1, 3, 3}, []float32{
			12, 27, 24, 63, 108, 81, 72, 117, 84}},
		// SAME_UPPER puts the odd pad at the end: rows/cols 0, 2, 4 are
		// centred on 1, 3 and the last window hangs over the bottom edge.
		{"SAME_UPPER stride2", Attrs{"auto_pad": "SAME_UPPER", "strides": convInts(2, 2)}, convRamp(1, 1, 4, 4), []int{1, 1, 2, 2}, []float32{
			45, 39, 66, 50}},
		{"VALID", Attrs{"auto_pad": "VALID", "pads": convInts(5, 5, 5, 5)}, x55, []int{1, 1, 3, 3}, []float32{54, 63, 72, 99, 108, 117, 144, 153, 162}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := newKernel(t, "Conv", c.attrs, []*Tensor{c.x, w})
			y := runKernel(t, k, c.x, w)
			if !SameShape(y.Shape, c.shape) {
				t.Fatalf("shape %v, want %v", y.Shape, c.shape)
			}
			assertClose(t, y, c.want, 1e-6)
		})
	}

	// 1-D, dilation 2, bias: y[o] = x[o] - x[o+4] + 0.5.
	x := FromData([]float32{1, 2, 3, 4, 5, 7}, 1, 1, 6)
	w1 := FromData([]float32{1, 0, -1}, 1, 1, 3)
	b := FromData([]float32{0.5}, 1)
	k := newKernel(t, "Conv", Attrs{"dilations": convInts(2)}, []*Tensor{x, w1, b})
	assertClose(t, runKernel(t, k, x, w1, b), []float32{-3.5, -4.5}, 1e-6)

	// Two groups of one channel each: each output sees only its channel.
	x = FromData([]float32{1, 2, 3, 10, 20, 30}, 1, 2, 3)
	w2 := FromData([]float32{1, 1, 2, -1}, 2, 1, 2)
	k = newKernel(t, "Conv", Attrs{"group": int64(2)}, []*Tensor{x, w2})
	assertClose(t, runKernel(t, k, x, w2), []float32{3, 5, 0, 10}, 1e-6)
}

// convCase is one attribute variant, with the explicit pads the reference
// needs (hand-derived for auto_pad).
type convCase struct {
	name             string
	x, w             []int // shapes
	bias             bool
	attrs            Attrs
	group            int
	strides, dil     []int
	padBegin, padEnd []int
}

var convCases = []convCase{
	{name: "plain", x: []int{1, 3, 5, 6}, w: []int{4, 3, 3, 3}, group: 1, strides: []int{1, 1}, dil: []int{1, 1}, padBegin: []int{0, 0}, padEnd: []int{0, 0}},
	{name: "bias batch2 pads", x: []int{2, 2, 5, 4}, w: []int{3, 2, 3, 3}, bias: true, attrs: Attrs{"pads": convInts(1, 1, 1, 1)}, group: 1, strides: []int{1, 1}, dil: []int{1, 1}, padBegin: []int{1, 1}, padEnd: []int{1, 1}},
	{name: "asymmetric pads stride", x: []int{1, 2, 7, 6}, w: []int{2, 2, 3, 2}, attrs: Attrs{"pads": convInts(2, 0, 1, 3), "strides": convInts(2, 3)}, group: 1, strides: []int{2, 3}, dil: []int{1, 1}, padBegin: []int{2, 0}, padEnd: []int{1, 3}},
	{name: "dilation", x: []int{1, 2, 7, 7}, w: []int{2, 2, 3, 2}, attrs: Attrs{"dilations": convInts(2, 3), "pads": convInts(1, 1, 0, 2)}, group: 1, strides: []int{1, 1}, dil: []int{2, 3}, padBegin: []int{1, 1}, padEnd: []int{0, 2}},
	{name: "groups", x: []int{2, 4, 5, 5}, w: []int{6, 2, 3, 3}, bias: true, attrs: Attrs{"group": int64(2), "pads": convInts(1, 1, 1, 1)}, group: 2, strides: []int{1, 1}, dil: []int{1, 1}, padBegin: []int{1, 1}, padEnd: []int{1, 1}},
	{name: "depthwise", x: []int{2, 3, 6, 5}, w: []int{3, 1, 3, 3}, bias: true, attrs: Attrs{"group": int64(3), "pads": convInts(1, 1, 1, 1)}, group: 3, strides: []int{1, 1}, dil: []int{1, 1}, padBegin: []int{1, 1}, padEnd: []int{1, 1}},
	{name: "depthwise stride dilation", x: []int{1, 3, 8, 7}, w: []int{3, 1, 3, 3}, attrs: Attrs{"group": int64(3), "strides": convInts(2, 2), "dilations": convInts(1, 2), "pads": convInts(0, 2, 1, 1)}, group: 3, strides: []int{2, 2}, dil: []int{1, 2}, padBegin: []int{0, 2}, padEnd: []int{1, 1}},
	{name: "depthwise multiplier", x: []int{1, 2, 5, 5}, w: []int{4, 1, 2, 2}, attrs: Attrs{"group": int64(2)}, group: 2, strides: []int{1, 1}, dil: []int{1, 1}, padBegin: []int{0, 0}, padEnd: []int{0, 0}},
	// 6 / stride 2 -> 3; total pad (3-1)*2+3-6 = 1: SAME_UPPER at the end.
	{name: "SAME_UPPER", x: []int{1, 2, 6, 6}, w: []int{2, 2, 3, 3}, attrs: Attrs{"auto_pad": "SAME_UPPER", "strides": convInts(2, 2)}, group: 1, strides: []int{2, 2}, dil: []int{1, 1}, padBegin: []int{0, 0}, padEnd: []int{1, 1}},
	{name: "SAME_LOWER", x: []int{1, 2, 6, 6}, w: []int{2, 2, 3, 3}, attrs: Attrs{"auto_pad": "SAME_LOWER", "strides": convInts(2, 2)}, group: 1, strides: []int{2, 2}, dil: []int{1, 1}, padBegin: []int{1, 1}, padEnd: []int{0, 0}},
	// Stride 1, kernel 4 (dilated extent 4): total pad 3 -> 1 + 2 (UPPER).
	{name: "SAME_UPPER even kernel", x: []int{1, 1, 5, 4}, w: []int{2, 1, 4, 2}, attrs: Attrs{"auto_pad": "SAME_UPPER", "dilations": convInts(1, 3)}, group: 1, strides: []int{1, 1}, dil: []int{1, 3}, padBegin: []int{1, 1}, padEnd: []int{2, 2}},
	{name: "VALID", x: []int{1, 2, 6, 5}, w: []int{2, 2, 3, 3}, attrs: Attrs{"auto_pad": "VALID", "strides": convInts(2, 1)}, group: 1, strides: []int{2, 1}, dil: []int{1, 1}, padBegin: []int{0, 0}, padEnd: []int{0, 0}},
	{name: "1x1", x: []int{2, 4, 3, 5}, w: []int{3, 4, 1, 1}, bias: true, group: 1, strides: []int{1, 1}, dil: []int{1, 1}, padBegin: []int{0, 0}, padEnd: []int{0, 0}},
	{name: "1x1 stride2 pad", x: []int{1, 4, 5, 5}, w: []int{3, 4, 1, 1}, attrs: Attrs{"strides": convInts(2, 2), "pads": convInts(0, 1, 0, 0)}, group: 1, strides: []int{2, 2}, dil: []int{1, 1}, padBegin: []int{0, 1}, padEnd: []int{0, 0}},
	{name: "1D", x: []int{2, 3, 9}, w: []int{2, 3, 3}, bias: true, attrs: Attrs{"strides": convInts(2), "pads": convInts(1, 2), "dilations": convInts(2)}, group: 1, strides: []int{2}, dil: []int{2}, padBegin: []int{1}, padEnd: []int{2}},
	{name: "3D", x: []int{1, 2, 4, 5, 4}, w: []int{2, 2, 2, 3, 2}, bias: true, attrs: Attrs{"strides": convInts(1, 2, 1), "pads": convInts(1, 1, 0, 0, 1, 1)}, group: 1, strides: []int{1, 2, 1}, dil: []int{1, 1, 1}, padBegin: []int{1, 1, 0}, padEnd: []int{0, 1, 1}},
	{name: "3D depthwise", x: []int{1, 2, 4, 4, 4}, w: []int{2, 1, 2, 2, 2}, attrs: Attrs{"group": int64(2), "pads": convInts(1, 0, 0, 0, 1, 0)}, group: 2, strides: []int{1, 1, 1}, dil: []int{1, 1, 1}, padBegin: []int{1, 0, 0}, padEnd: []int{0, 1, 0}},
}

func (c convCase) inputs(r *rand.Rand) []*Tensor {
	in := []*Tensor{randTensor(r, c.x...), randTensor(r, c.w...)}
	if c.bias {
		in = append(in, randTensor(r, c.w[0]))
	}
	return in
}

func TestConvMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, c := range convCases {
		t.Run(c.name, func(t *testing.T) {
			in := c.inputs(r)
			k := newKernel(t, "Conv", c.attrs, in)
			y := runDirty(t, k, in...)
			var b *Tensor
			if c.bias {
				b = in[2]
			}
			want := refConv(in[0], in[1], b, c.group, c.strides, c.dil, c.padBegin, c.padEnd)
			if !SameShape(y.Shape, want.Shape) {
				t.Fatalf("shape %v, want %v", y.Shape, want.Shape)
			}
			assertClose(t, y, want.Data, 1e-5)
		})
	}
}

func TestConvGradients(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for _, c := range convCases {
		t.Run(c.name, func(t *testing.T) {
			in := c.inputs(r)
			k := newKernel(t, "Conv", c.attrs, in)
			for i := range in {
				checkGrad(t, k, in, i, 1e-2, 1e-3)
			}
		})
	}
}

// convDot is Σ a[i]*b[i] in float64.
func convDot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// TestConvLarge runs sizes above the parallel threshold (im2col, col2im and
// the depthwise kernels split across goroutines) against the reference,
// and checks the input gradient through the adjoint identity
// <Conv(X), G> = <X, dX(G)> (Conv without bias is linear in X).
func TestConvLarge(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for _, group := range []int{1, 8} {
		x := randTensor(r, 1, 8, 40, 41)
		w := randTensor(r, 8, 8/group, 3, 3)
		attrs := Attrs{"pads": convInts(1, 1, 1, 1), "group": int64(group)}
		k := newKernel(t, "Conv", attrs, []*Tensor{x, w})
		y := runKernel(t, k, x, w)
		assertClose(t, y, refConv(x, w, nil, group, []int{1, 1}, []int{1, 1}, []int{1, 1}, []int{1, 1}).Data, 1e-5)
		gy := randTensor(r, y.Shape...)
		g, err := k.backward(newScratch(), []*Tensor{x, w}, []*Tensor{y}, []*Tensor{gy}, []bool{true, true}, Vanilla)
		if err != nil {
			t.Fatal(err)
		}
		lhs, rhs := convDot(y.Data, gy.Data), convDot(x.Data, g[0].Data)
		if math.Abs(lhs-rhs) > 1e-4*math.Abs(lhs)+1e-3 {
			t.Errorf("group %d: <Conv(X), G> = %g but <X, dX> = %g", group, lhs, rhs)
		}
		// Conv is linear in W too: <Conv(X; W), G> = <W, dW>.
		if rhs := convDot(w.Data, g[1].Data); math.Abs(lhs-rhs) > 1e-4*math.Abs(lhs)+1e-3 {
			t.Errorf("group %d: <Conv(X), G> = %g but <W, dW> = %g", group, lhs, rhs)
		}
	}
}

func TestConvErrors(t *testing.T) {
	for _, attrs := range []Attrs{
		{"auto_pad": "SAME"},
		{"group": int64(0)},
		{"strides": convInts(0, 1)},
		{"pads": convInts(1, 1, 1)},
		{"dilations": convInts(1, -1)},
	} {
		if _, err := newConv(&nodeInfo{Name: "c", Op: "Conv", Attrs: attrs}); err == nil {
			t.Errorf("attrs %v: no error", attrs)
		}
	}
	r := rand.New(rand.NewSource(4))
	for _, c := range []struct {
		attrs Attrs
		x, w  []int
		want  string
	}{
		{Attrs{}, []int{1, 3, 5, 5}, []int{2, 2, 3, 3}, "group"},
		{Attrs{"group": int64(2)}, []int{1, 4, 5, 5}, []int{3, 2, 3, 3}, "group"},
		{Attrs{}, []int{1, 1, 2, 2}, []int{1, 1, 3, 3}, "does not fit"},
		{Attrs{}, []int{1, 1, 5, 5}, []int{1, 1, 3}, "rank"},
		{Attrs{"kernel_shape": convInts(2, 2)}, []int{1, 1, 5, 5}, []int{1, 1, 3, 3}, "kernel_shape"},
		{Attrs{"strides": convInts(1)}, []int{1, 1, 5, 5}, []int{1, 1, 3, 3}, "strides"},
		{Attrs{}, []int{1, 1, 2, 2, 2, 2}, []int{1, 1, 1, 1, 1, 1}, "spatial"},
	} {
		x, w := randTensor(r, c.x...), randTensor(r, c.w...)
		k := newKernel(t, "Conv", c.attrs, []*Tensor{x, w})
		if _, err := k.forward(newScratch(), []*Tensor{x, w}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("X %v W %v %v: error %v, want one mentioning %q", c.x, c.w, c.attrs, err, c.want)
		}
	}
	x, w, b := randTensor(r, 1, 2, 4, 4), randTensor(r, 3, 2, 3, 3), randTensor(r, 2)
	k := newKernel(t, "Conv", nil, []*Tensor{x, w, b})
	if _, err := k.forward(newScratch(), []*Tensor{x, w, b}); err == nil || !strings.Contains(err.Error(), "bias") {
		t.Errorf("bias of the wrong size: error %v", err)
	}
}

func TestConvTransposeHandValues(t *testing.T) {
	// ONNX operator examples: a 3x3 ramp through two 3x3 box filters.
	x, w := convRamp(1, 1, 3, 3), convOnes(1, 2, 3, 3)
	plane := []float32{0, 1, 3, 3, 2, 3, 8, 15, 12, 7, 9, 21, 36, 27, 15, 9, 20, 33, 24, 13, 6, 13, 21, 15, 8}
	k := newKernel(t, "ConvTranspose", nil, []*Tensor{x, w})
	y := runKernel(t, k, x, w)
	if !SameShape(y.Shape, []int{1, 2, 5, 5}) {
		t.Fatalf("shape %v", y.Shape)
	}
	assertClose(t, y, append(append([]float32(nil), plane...), plane...), 1e-6)

	// strides [3, 2] with pads [1, 2, 1, 2]: 7x3 per channel.
	k = newKernel(t, "ConvTranspose", Attrs{"strides": convInts(3, 2), "pads": convInts(1, 2, 1, 2)}, []*Tensor{x, w})
	y = runKernel(t, k, x, w)
	plane = []float32{1, 1, 3, 1, 1, 3, 7, 4, 9, 7, 4, 9, 7, 4, 9, 13, 7, 15, 13, 7, 15}
	assertClose(t, y, append(append([]float32(nil), plane...), plane...), 1e-6)

	// 1-D with bias and dilation 2: y[i] = Σ_o x[o] w[t] at i = o + 2t.
	x1 := FromData([]float32{1, 2, 3}, 1, 1, 3)
	w1 := FromData([]float32{1, 10}, 1, 1, 2)
	b1 := FromData([]float32{0.5}, 1)
	k = newKernel(t, "ConvTranspose", Attrs{"dilations": convInts(2)}, []*Tensor{x1, w1, b1})
	assertClose(t, runKernel(t, k, x1, w1, b1), []float32{1.5, 2.5, 13.5, 20.5, 30.5}, 1e-6)
}

// convTCase is one ConvTranspose variant with the output size and begin
// pads the reference needs, derived by hand.
type convTCase struct {
	name         string
	x, w         []int
	bias         bool
	attrs        Attrs
	group        int
	strides, dil []int
	padBegin     []int
	out          []int // spatial output size
}

var convTCases = []convTCase{
	{name: "plain", x: []int{1, 2, 3, 3}, w: []int{2, 3, 3, 3}, group: 1, strides: []int{1, 1}, dil: []int{1, 1}, padBegin: []int{0, 0}, out: []int{5, 5}},
	// 3*(3-1) + 3 - 2 = 7, 2*(3-1) + 3 - 4 = 3.
	{name: "strides pads", x: []int{1, 1, 3, 3}, w: []int{1, 2, 3, 3}, bias: true, attrs: Attrs{"strides": convInts(3, 2), "pads": convInts(1, 2, 1, 2)}, group: 1, strides: []int{3, 2}, dil: []int{1, 1}, padBegin: []int{1, 2}, out: []int{7, 3}},
	{name: "output_padding", x: []int{2, 2, 3, 3}, w: []int{2, 2, 3, 3}, attrs: Attrs{"strides": convInts(3, 2), "output_padding": convInts(1, 1)}, group: 1, strides: []int{3, 2}, dil: []int{1, 1}, padBegin: []int{0, 0}, out: []int{10, 8}},
	// Natural size 9x7, asked 10x8: total pad -1 -> begin 0, one extra row/col at the end.
	{name: "output_shape larger", x: []int{1, 1, 3, 3}, w: []int{1, 2, 3, 3}, attrs: Attrs{"strides": convInts(3, 2), "output_shape": convInts(10, 8)}, group: 1, strides: []int{3, 2}, dil: []int{1, 1}, padBegin: []int{0, 0}, out: []int{10, 8}},
	// Natural 9x7, asked 8x5: total pads 1 and 2; NOTSET puts the odd one at the beginning.
	{name: "output_shape smaller", x: []int{1, 1, 3, 3}, w: []int{1, 2, 3, 3}, attrs: Attrs{"strides": convInts(3, 2), "output_shape": convInts(1, 2, 8, 5)}, group: 1, strides: []int{3, 2}, dil: []int{1, 1}, padBegin: []int{1, 1}, out: []int{8, 5}},
	// Output 3*2 = 6 from natural 7: total pad 1, at the end for SAME_UPPER.
	{name: "SAME_UPPER", x: []int{1, 1, 3, 3}, w: []int{1, 2, 3, 3}, attrs: Attrs{"auto_pad": "SAME_UPPER", "strides": convInts(2, 2)}, group: 1, strides: []int{2, 2}, dil: []int{1, 1}, padBegin: []int{0, 0}, out: []int{6, 6}},
	{name: "SAME_LOWER", x: []int{1, 1, 3, 3}, w: []int{1, 2, 3, 3}, attrs: Attrs{"auto_pad": "SAME_LOWER", "strides": convInts(2, 2)}, group: 1, strides: []int{2, 2}, dil: []int{1, 1}, padBegin: []int{1, 1}, out: []int{6, 6}},
	{name: "VALID", x: []int{1, 1, 3, 3}, w: []int{1, 1, 2, 2}, attrs: Attrs{"auto_pad": "VALID", "pads": convInts(1, 1, 1, 1)}, group: 1, strides: []int{1, 1}, dil: []int{1, 1}, padBegin: []int{0, 0}, out: []int{4, 4}},
	{name: "dilations", x: []int{1, 1, 3, 3}, w: []int{1, 1, 2, 2}, attrs: Attrs{"dilations": convInts(2, 2)}, group: 1, strides: []int{1, 1}, dil: []int{2, 2}, padBegin: []int{0, 0}, out: []int{5, 5}},
	{name: "groups", x: []int{2, 4, 3, 4}, w: []int{4, 3, 3, 2}, bias: true, attrs: Attrs{"group": int64(2), "strides": convInts(2, 1), "pads": convInts(1, 0, 0, 1)}, group: 2, strides: []int{2, 1}, dil: []int{1, 1}, padBegin: []int{1, 0}, out: []int{6, 4}},
	{name: "depthwise", x: []int{1, 3, 3, 3}, w: []int{3, 1, 3, 3}, attrs: Attrs{"group": int64(3), "strides": convInts(2, 2)}, group: 3, strides: []int{2, 2}, dil: []int{1, 1}, padBegin: []int{0, 0}, out: []int{7, 7}},
	{name: "1x1", x: []int{1, 3, 2, 3}, w: []int{3, 2, 1, 1}, bias: true, group: 1, strides: []int{1, 1}, dil: []int{1, 1}, padBegin: []int{0, 0}, out: []int{2, 3}},
	{name: "1D", x: []int{1, 2, 4}, w: []int{2, 2, 3}, bias: true, attrs: Attrs{"strides": convInts(2), "pads": convInts(1, 0), "output_padding": convInts(1)}, group: 1, strides: []int{2}, dil: []int{1}, padBegin: []int{1}, out: []int{9}},
	{name: "3D", x: []int{1, 1, 2, 3, 2}, w: []int{1, 2, 2, 2, 3}, attrs: Attrs{"strides": convInts(2, 1, 1), "pads": convInts(0, 1, 0, 0, 0, 1)}, group: 1, strides: []int{2, 1, 1}, dil: []int{1, 1, 1}, padBegin: []int{0, 1, 0}, out: []int{4, 3, 3}},
}

func (c convTCase) inputs(r *rand.Rand) []*Tensor {
	in := []*Tensor{randTensor(r, c.x...), randTensor(r, c.w...)}
	if c.bias {
		in = append(in, randTensor(r, c.w[1]*c.group))
	}
	return in
}

func TestConvTransposeMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	for _, c := range convTCases {
		t.Run(c.name, func(t *testing.T) {
			in := c.inputs(r)
			k := newKernel(t, "ConvTranspose", c.attrs, in)
			y := runDirty(t, k, in...)
			var b *Tensor
			if c.bias {
				b = in[2]
			}
			want := refConvTranspose(in[0], in[1], b, c.group, c.strides, c.dil, c.padBegin, c.out)
			if !SameShape(y.Shape, want.Shape) {
				t.Fatalf("shape %v, want %v", y.Shape, want.Shape)
			}
			assertClose(t, y, want.Data, 1e-5)
		})
	}
}

func TestConvTransposeGradients(t *testing.T) {
	r := rand.New(rand.NewSource(6))
	for _, c := range convTCases {
		t.Run(c.name, func(t *testing.T) {
			in := c.inputs(r)
			k := newKernel(t, "ConvTranspose", c.attrs, in)
			for i := range in {
				checkGrad(t, k, in, i, 1e-2, 1e-3)
			}
		})
	}
}

// TestConvTransposeIsConvAdjoint checks <Conv(X; W), Y> = <X, ConvTranspose(Y; W)>
// for the same W, strides, pads and dilations, with output_padding restoring
// X's size.
func TestConvTransposeIsConvAdjoint(t *testing.T) {
	r := rand.New(rand.NewSource(8))
	x, w := randTensor(r, 2, 4, 8, 7), randTensor(r, 6, 2, 3, 3)
	attrs := Attrs{"group": int64(2), "strides": convInts(2, 2), "pads": convInts(1, 0, 1, 1), "dilations": convInts(1, 2)}
	conv := newKernel(t, "Conv", attrs, []*Tensor{x, w})
	cx := runKernel(t, conv, x, w) // [2, 6, 4, 2]
	y := randTensor(r, cx.Shape...)
	// Transposed sizes: 2*(4-1) + 3 - 2 = 7 rows and 2*(2-1) + 5 - 1 = 6
	// cols; output_padding makes them X's 8x7.
	tattrs := Attrs{"group": int64(2), "strides": convInts(2, 2), "pads": convInts(1, 0, 1, 1), "dilations": convInts(1, 2), "output_padding": convInts(1, 1)}
	convT := newKernel(t, "ConvTranspose", tattrs, []*Tensor{y, w})
	ty := runKernel(t, convT, y, w)
	if !SameShape(ty.Shape, x.Shape) {
		t.Fatalf("ConvTranspose shape %v, want %v", ty.Shape, x.Shape)
	}
	if lhs, rhs := convDot(cx.Data, y.Data), convDot(x.Data, ty.Data); math.Abs(lhs-rhs) > 1e-4*math.Abs(lhs) {
		t.Errorf("<Conv(X), Y> = %g, <X, ConvT(Y)> = %g", lhs, rhs)
	}
}

func TestConvTransposeErrors(t *testing.T) {
	for _, attrs := range []Attrs{{"output_padding": convInts(-1, 0)}, {"output_shape": convInts(0, 3)}, {"auto_pad": "bogus"}} {
		if _, err := newConvTranspose(&nodeInfo{Name: "t", Op: "ConvTranspose", Attrs: attrs}); err == nil {
			t.Errorf("attrs %v: no error", attrs)
		}
	}
	r := rand.New(rand.NewSource(9))
	for _, c := range []struct {
		attrs Attrs
		x, w  []int
	}{
		{Attrs{}, []int{1, 2, 3, 3}, []int{3, 1, 3, 3}},
		{Attrs{"output_padding": convInts(1)}, []int{1, 1, 3, 3}, []int{1, 1, 3, 3}},
		{Attrs{"output_shape": convInts(4, 4, 4)}, []int{1, 1, 3, 3}, []int{1, 1, 3, 3}},
		{Attrs{"pads": convInts(3, 3, 3, 3)}, []int{1, 1, 1, 1}, []int{1, 1, 3, 3}},
	} {
		x, w := randTensor(r, c.x...), randTensor(r, c.w...)
		k := newKernel(t, "ConvTranspose", c.attrs, []*Tensor{x, w})
		if _, err := k.forward(newScratch(), []*Tensor{x, w}); err == nil {
			t.Errorf("X %v W %v %v: no error", c.x, c.w, c.attrs)
		}
	}
}

// refGemm is the textbook triple loop for row-major C = alpha*op(A)*op(B) + beta*C.
func refGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				ai, bi := i*lda+p, p*ldb+j
				if transA {
					ai = p*lda + i
				}
				if transB {
					bi = j*ldb + p
				}
				av, bv := a[ai], b[bi]
				s += float64(av) * float64(bv)
			}
			c[i*ldc+j] = alpha*float32(s) + beta*c[i*ldc+j]
		}
	}
}

func TestSgemmMatchesNaive(t *testing.T) {
	t.Logf("BLAS backend: %s", BLASBackend())
	r := rand.New(rand.NewSource(10))
	for trial := 0; trial < 40; trial++ {
		m, n, k := 1+r.Intn(70), 1+r.Intn(70), r.Intn(70)
		transA, transB := r.Intn(2) == 1, r.Intn(2) == 1
		if trial < 8 {
			// Large enough to be split across goroutines (by rows, then by
			// columns), with every transpose combination.
			m, n, k = 300, 257, 190
			if trial >= 4 {
				m, n, k = 40, 300, 120
			}
			transA, transB = trial%2 == 1, trial/2%2 == 1
		}
		alpha := float32(r.Float64()*2 - 1)
		beta := []float32{0, 1, 0.5}[r.Intn(3)]
		ar, ac := m, k
		if transA {
			ar, ac = k, m
		}
		br, bc := k, n
		if transB {
			br, bc = n, k
		}
		lda, ldb, ldc := ac+r.Intn(3), bc+r.Intn(3), n+r.Intn(3)
		a := randTensor(r, max(ar*lda, 1)).Data
		b := randTensor(r, max(br*ldb, 1)).Data
		c := randTensor(r, m*ldc).Data
		want := append([]float32(nil), c...)
		if beta == 0 {
			for i := range c {
				c[i] = float32(math.NaN()) // beta = 0 must not read C
			}
		}
		serial := append([]float32(nil), c...) // SgemmSerial's C
		sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		SgemmSerial(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, serial, ldc)
		refGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, want, ldc)
		for name, c := range map[string][]float32{"sgemm": c, "SgemmSerial": serial} {
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					got, w := c[i*ldc+j], want[i*ldc+j]
					if math.Abs(float64(got-w)) > 1e-4*(1+math.Sqrt(float64(k))) || math.IsNaN(float64(got)) {
						t.Fatalf("%s m=%d n=%d k=%d transA=%v transB=%v beta=%v: C[%d,%d] = %v, want %v", name, m, n, k, transA, transB, beta, i, j, got, w)
					}
				}
			}
		}
	}
}

// benchConv times a SqueezeNet-like 3x3 convolution (64 -> 64 channels,
// 56x56, pad 1) forward and input-gradient, plus a 1x1 and a depthwise one.
func BenchmarkConv(b *testing.B) {
	r := rand.New(rand.NewSource(11))
	for _, c := range []struct {
		name  string
		x, w  []int
		attrs Attrs
	}{
		{"3x3_64x56x56", []int{1, 64, 56, 56}, []int{64, 64, 3, 3}, Attrs{"pads": convInts(1, 1, 1, 1)}},
		{"1x1_64x56x56", []int{1, 64, 56, 56}, []int{64, 64, 1, 1}, nil},
		{"depthwise3x3_64x56x56", []int{1, 64, 56, 56}, []int{64, 1, 3, 3}, Attrs{"pads": convInts(1, 1, 1, 1), "group": int64(64)}},
	} {
		in := []*Tensor{randTensor(r, c.x...), randTensor(r, c.w...), randTensor(r, c.w[0])}
		k := newKernel(b, "Conv", c.attrs, in)
		s := newScratch()
		out, err := k.forward(s, in)
		if err != nil {
			b.Fatal(err)
		}
		gy := randTensor(r, out[0].Shape...)
		b.Run(c.name+"/forward", func(b *testing.B) {
			for b.Loop() {
				s.reset()
				if _, err := k.forward(s, in); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/backward_x", func(b *testing.B) {
			for b.Loop() {
				s.reset()
				if _, err := k.backward(s, in, out, []*Tensor{gy}, []bool{true, false, false}, Vanilla); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
