package model

import (
	"math"
	"math/rand"
	"strings"
	"testing"
)

// seqTensor returns a float32 tensor holding 1, 2, 3, ... in row-major order.
func seqTensor(shape ...int) *Tensor {
	x := NewTensor(shape...)
	for i := range x.Data {
		x.Data[i] = float32(i + 1)
	}
	return x
}

// distinctTensor returns a tensor whose values are all different and at
// least 0.01 apart, so finite differences with eps 1e-3 never change which
// element of a max-pool window wins.
func distinctTensor(r *rand.Rand, shape ...int) *Tensor {
	x := NewTensor(shape...)
	for i, p := range r.Perm(len(x.Data)) {
		x.Data[i] = float32(p-len(x.Data)/2) * 0.01
	}
	return x
}

// buildOpN builds op with the given attributes and number of outputs.
func buildOpN(op string, attrs Attrs, inputs, outputs int) (kernel, error) {
	n := &nodeInfo{Name: "test_" + op, Op: op, Opset: 13, Attrs: attrs, Inputs: inputs, Outputs: outputs}
	return registry[op](n)
}

// vjpOf runs k's backward for input 0 with output gradient gy.
func vjpOf(t *testing.T, k kernel, x, gy *Tensor, mode Mode) *Tensor {
	t.Helper()
	s := newScratch()
	outs, err := k.forward(s, []*Tensor{x})
	if err != nil {
		t.Fatalf("forward: %v", err)
	}
	gout := make([]*Tensor, len(outs))
	gout[0] = gy
	g, err := k.backward(s, []*Tensor{x}, outs, gout, []bool{true}, mode)
	if err != nil {
		t.Fatalf("backward: %v", err)
	}
	return g[0]
}

type poolCase struct {
	name  string
	attrs Attrs
	x     *Tensor
	shape []int
	want  []float32
}

func runPoolCases(t *testing.T, op string, cases []poolCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			y := runKernel(t, newKernel(t, op, c.attrs, []*Tensor{c.x}), c.x)
			if !SameShape(y.Shape, c.shape) {
				t.Fatalf("shape %v, want %v", y.Shape, c.shape)
			}
			assertClose(t, y, c.want, 1e-6)
		})
	}
}

func TestMaxPoolForward(t *testing.T) {
	neg := FromData([]float32{-1, -2, -3, -4}, 1, 1, 4)
	runPoolCases(t, "MaxPool", []poolCase{
		{"2d", Attrs{"kernel_shape": []int64{2, 2}, "strides": []int64{2, 2}}, seqTensor(1, 1, 4, 4), []int{1, 1, 2, 2}, []float32{6, 8, 14, 16}},
		{"2d_ceil", Attrs{"kernel_shape": []int64{3, 3}, "strides": []int64{2, 2}, "ceil_mode": int64(1)}, seqTensor(1, 1, 4, 4), []int{1, 1, 2, 2}, []float32{11, 12, 15, 16}},
		{"2d_floor", Attrs{"kernel_shape": []int64{3, 3}, "strides": []int64{2, 2}}, seqTensor(1, 1, 4, 4), []int{1, 1, 1, 1}, []float32{11}},
		// Padding never wins, even against negative values.
		{"1d_pads", Attrs{"kernel_shape": []int64{3}, "pads": []int64{1, 1}}, FromData([]float32{-1, -3, -2}, 1, 1, 3), []int{1, 1, 3}, []float32{-1, -1, -2}},
		// Ceil mode drops a last window that would start in the end padding.
		{"1d_ceil_pads", Attrs{"kernel_shape": []int64{2}, "strides": []int64{2}, "pads": []int64{1, 1}, "ceil_mode": int64(1)}, seqTensor(1, 1, 5), []int{1, 1, 3}, []float32{1, 3, 5}},
		// pads are [h_begin, w_begin, h_end, w_end].
		{"2d_asymmetric_pads", Attrs{"kernel_shape": []int64{2, 2}, "strides": []int64{2, 2}, "pads": []int64{1, 0, 0, 1}}, seqTensor(1, 1, 3, 3), []int{1, 1, 2, 2}, []float32{2, 3, 8, 9}},
		{"2d_dilations", Attrs{"kernel_shape": []int64{2, 2}, "dilations": []int64{2, 2}}, seqTensor(1, 1, 4, 4), []int{1, 1, 2, 2}, []float32{11, 12, 15, 16}},
		{"same_upper", Attrs{"kernel_shape": []int64{2}, "auto_pad": "SAME_UPPER"}, neg, []int{1, 1, 4}, []float32{-1, -2, -3, -4}},
		{"same_lower", Attrs{"kernel_shape": []int64{2}, "auto_pad": "SAME_LOWER"}, neg, []int{1, 1, 4}, []float32{-1, -1, -2, -3}},
		{"same_upper_stride", Attrs{"kernel_shape": []int64{2}, "strides": []int64{2}, "auto_pad": "SAME_UPPER"}, seqTensor(1, 1, 5), []int{1, 1, 3}, []float32{2, 4, 5}},
		{"same_lower_stride", Attrs{"kernel_shape": []int64{2}, "strides": []int64{2}, "auto_pad": "SAME_LOWER"}, seqTensor(1, 1, 5), []int{1, 1, 3}, []float32{1, 3, 5}},
		// ONNX test_maxpool_2d_precomputed_same_upper.
		{"same_upper_2d", Attrs{"kernel_shape": []int64{3, 3}, "strides": []int64{2, 2}, "auto_pad": "SAME_UPPER"}, seqTensor(1, 1, 5, 5), []int{1, 1, 3, 3}, []float32{7, 9, 10, 17, 19, 20, 22, 24, 25}},
		{"valid", Attrs{"kernel_shape": []int64{2}, "strides": []int64{2}, "auto_pad": "VALID", "pads": []int64{1, 1}}, seqTensor(1, 1, 5), []int{1, 1, 2}, []float32{2, 4}},
		{"3d", Attrs{"kernel_shape": []int64{2, 2, 2}}, seqTensor(1, 1, 2, 2, 3), []int{1, 1, 1, 1, 2}, []float32{11, 12}},
		{"batch_channels", Attrs{"kernel_shape": []int64{2}, "strides": []int64{2}}, seqTensor(2, 2, 4), []int{2, 2, 2}, []float32{2, 4, 6, 8, 10, 12, 14, 16}},
	})
}

func TestMaxPoolIndices(t *testing.T) {
	x := seqTensor(1, 2, 5, 5)
	for i := 25; i < 50; i++ {
		x.Data[i] += 100 // second channel: indices offset by one plane
	}
	x3 := seqTensor(1, 1, 2, 2, 3)
	for _, c := range []struct {
		name  string
		attrs Attrs
		x     *Tensor
		want  []int64
	}{
		{"row_major", Attrs{"kernel_shape": []int64{2, 2}, "strides": []int64{2, 2}}, x, []int64{6, 8, 16, 18, 31, 33, 41, 43}},
		// ONNX test_maxpool_with_argmax_2d_precomputed_strides: spatial part column-major.
		{"col_major", Attrs{"kernel_shape": []int64{2, 2}, "strides": []int64{2, 2}, "storage_order": int64(1)}, x, []int64{6, 16, 8, 18, 31, 41, 33, 43}},
		{"row_major_3d", Attrs{"kernel_shape": []int64{2, 2, 2}}, x3, []int64{10, 11}},
		// (d, h, w) = (1, 1, 1) and (1, 1, 2) in a 2x2x3 input: d + 2h + 4w.
		{"col_major_3d", Attrs{"kernel_shape": []int64{2, 2, 2}, "storage_order": int64(1)}, x3, []int64{7, 11}},
		{"padded", Attrs{"kernel_shape": []int64{3}, "pads": []int64{1, 1}}, FromData([]float32{-1, -3, -2}, 1, 1, 3), []int64{0, 0, 2}},
	} {
		t.Run(c.name, func(t *testing.T) {
			k, err := buildOpN("MaxPool", c.attrs, 1, 2)
			if err != nil {
				t.Fatal(err)
			}
			outs, err := k.forward(newScratch(), []*Tensor{c.x})
			if err != nil {
				t.Fatal(err)
			}
			if len(outs) != 2 || outs[1].DType != Int64 || !SameShape(outs[1].Shape, outs[0].Shape) {
				t.Fatalf("outputs %v, want Y and an int64 Indices of the same shape", outs)
			}
			for i, v := range c.want {
				if outs[1].Ints[i] != v {
					t.Fatalf("indices %v, want %v", outs[1].Ints, c.want)
				}
			}
		})
	}
}

func TestMaxPoolTiesFirstMaxWins(t *testing.T) {
	for _, c := range []struct {
		name  string
		attrs Attrs
		x     *Tensor
		gy    []float32
		index []int64
		want  []float32
	}{
		{"all_equal", Attrs{"kernel_shape": []int64{2, 2}}, FromData([]float32{5, 5, 5, 5}, 1, 1, 2, 2), []float32{3}, []int64{0}, []float32{3, 0, 0, 0}},
		{"row_major_order", Attrs{"kernel_shape": []int64{2, 2}}, FromData([]float32{1, 5, 5, 2}, 1, 1, 2, 2), []float32{3}, []int64{1}, []float32{0, 3, 0, 0}},
		{"col_major_storage", Attrs{"kernel_shape": []int64{2, 2}, "storage_order": int64(1)}, FromData([]float32{1, 5, 5, 2}, 1, 1, 2, 2), []float32{3}, []int64{2}, []float32{0, 3, 0, 0}},
		{"overlapping", Attrs{"kernel_shape": []int64{2}}, FromData([]float32{2, 2, 2}, 1, 1, 3), []float32{1, 10}, []int64{0, 1}, []float32{1, 10, 0}},
		{"shared_max", Attrs{"kernel_shape": []int64{2}}, FromData([]float32{1, 4, 2}, 1, 1, 3), []float32{1, 10}, []int64{1, 1}, []float32{0, 11, 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			k, err := buildOpN("MaxPool", c.attrs, 1, 2)
			if err != nil {
				t.Fatal(err)
			}
			outs, err := k.forward(newScratch(), []*Tensor{c.x})
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range c.index {
				if outs[1].Ints[i] != v {
					t.Errorf("indices %v, want %v", outs[1].Ints, c.index)
				}
			}
			gy := FromData(c.gy, outs[0].Shape...)
			assertClose(t, vjpOf(t, k, c.x, gy, Vanilla), c.want, 0)
		})
	}
	x := FromData([]float32{7, 1, 7, 7}, 1, 1, 4)
	gp := newKernel(t, "GlobalMaxPool", nil, []*Tensor{x})
	assertClose(t, vjpOf(t, gp, x, FromData([]float32{2}, 1, 1, 1), Vanilla), []float32{2, 0, 0, 0}, 0)
}

// Integer inputs (uint8 models widened to int64 by the loader) are pooled
// exactly, padding included (ONNX test_maxpool_2d_uint8 pads a 5x5 kernel).
func TestMaxPoolInt64(t *testing.T) {
	x := FromInts([]int64{3, 200, 7, 255, 0, 9}, 1, 1, 2, 3)
	k, err := buildOpN("MaxPool", Attrs{"kernel_shape": []int64{2, 2}, "pads": []int64{0, 0, 0, 1}}, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := k.forward(newScratch(), []*Tensor{x})
	if err != nil {
		t.Fatal(err)
	}
	y := outs[0]
	if y.DType != Int64 || !SameShape(y.Shape, []int{1, 1, 1, 3}) {
		t.Fatalf("output %v, want int64[1x1x1x3]", y)
	}
	want, wantIdx := []int64{255, 200, 9}, []int64{3, 1, 5}
	for i := range want {
		if y.Ints[i] != want[i] || outs[1].Ints[i] != wantIdx[i] {
			t.Fatalf("got %v indices %v, want %v indices %v", y.Ints, outs[1].Ints, want, wantIdx)
		}
	}
	g, err := k.backward(newScratch(), []*Tensor{x}, outs, []*Tensor{nil, nil}, []bool{true}, Vanilla)
	if err != nil || g[0] != nil {
		t.Errorf("backward of an int64 input: %v, %v; want no gradient", g, err)
	}
}

// MaxPool routes through its switches in every mode, negative gradients
// included: guided and deconvnet only differ at ReLUs.
func TestMaxPoolBackwardModes(t *testing.T) {
	x := FromData([]float32{1, 3, 2, 0, 5, 4}, 1, 1, 6)
	gy := FromData([]float32{-2, 1, -3}, 1, 1, 3)
	k := newKernel(t, "MaxPool", Attrs{"kernel_shape": []int64{2}, "strides": []int64{2}}, []*Tensor{x})
	// Windows (1,3), (2,0), (5,4): maxima at 1, 2, 4.
	want := []float32{0, -2, 1, 0, -3, 0}
	for _, m := range []Mode{Vanilla, Guided, Deconvnet} {
		assertClose(t, vjpOf(t, k, x, gy, m), want, 0)
	}
}

var maxPoolGradCases = []struct {
	name  string
	attrs Attrs
	shape []int
}{
	{"2d", Attrs{"kernel_shape": []int64{3, 3}}, []int{1, 2, 5, 5}},
	{"2d_strides", Attrs{"kernel_shape": []int64{3, 3}, "strides": []int64{2, 2}}, []int{2, 2, 5, 6}},
	{"2d_pads", Attrs{"kernel_shape": []int64{3, 3}, "strides": []int64{2, 2}, "pads": []int64{1, 0, 1, 2}}, []int{1, 2, 5, 5}},
	{"2d_ceil", Attrs{"kernel_shape": []int64{3, 3}, "strides": []int64{2, 2}, "ceil_mode": int64(1)}, []int{1, 2, 6, 6}},
	{"2d_dilations", Attrs{"kernel_shape": []int64{2, 2}, "dilations": []int64{2, 3}, "pads": []int64{1, 1, 1, 1}}, []int{1, 2, 5, 6}},
	{"same_upper", Attrs{"kernel_shape": []int64{2, 3}, "strides": []int64{2, 2}, "auto_pad": "SAME_UPPER"}, []int{1, 2, 5, 5}},
	{"same_lower", Attrs{"kernel_shape": []int64{2, 3}, "strides": []int64{2, 2}, "auto_pad": "SAME_LOWER"}, []int{1, 2, 5, 5}},
	{"1d", Attrs{"kernel_shape": []int64{3}, "strides": []int64{2}, "pads": []int64{1, 1}}, []int{2, 2, 7}},
	{"3d", Attrs{"kernel_shape": []int64{2, 2, 2}, "strides": []int64{1, 2, 1}}, []int{1, 2, 3, 4, 3}},
}

func TestMaxPoolGrad(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, c := range maxPoolGradCases {
		t.Run(c.name, func(t *testing.T) {
			x := distinctTensor(r, c.shape...)
			checkGrad(t, newKernel(t, "MaxPool", c.attrs, []*Tensor{x}), []*Tensor{x}, 0, 1e-3, 1e-2)
		})
	}
}

func TestAveragePoolForward(t *testing.T) {
	incl := func(a Attrs) Attrs { a["count_include_pad"] = int64(1); return a }
	p3 := func() Attrs { return Attrs{"kernel_shape": []int64{3}, "pads": []int64{1, 1}} }
	ceilPads := func() Attrs {
		return Attrs{"kernel_shape": []int64{2}, "strides": []int64{2}, "pads": []int64{1, 1}, "ceil_mode": int64(1)}
	}
	ceil2d := func() Attrs {
		return Attrs{"kernel_shape": []int64{3, 3}, "strides": []int64{2, 2}, "ceil_mode": int64(1)}
	}
	same := func(mode string) Attrs {
		return Attrs{"kernel_shape": []int64{2}, "strides": []int64{2}, "auto_pad": mode}
	}
	dil := func() Attrs { return Attrs{"kernel_shape": []int64{2}, "dilations": []int64{2}, "pads": []int64{1, 1}} }
	runPoolCases(t, "AveragePool", []poolCase{
		{"2d", Attrs{"kernel_shape": []int64{2, 2}, "strides": []int64{2, 2}}, seqTensor(1, 1, 4, 4), []int{1, 1, 2, 2}, []float32{3.5, 5.5, 11.5, 13.5}},
		{"pads", p3(), seqTensor(1, 1, 3), []int{1, 1, 3}, []float32{1.5, 2, 2.5}},
		{"pads_count_include_pad", incl(p3()), seqTensor(1, 1, 3), []int{1, 1, 3}, []float32{1, 2, 5.0 / 3}},
		// ONNX test_averagepool_2d_ceil: the last windows run past the
		// input and only count the elements that exist, in both modes.
		{"2d_ceil", ceil2d(), seqTensor(1, 1, 4, 4), []int{1, 1, 2, 2}, []float32{6, 7.5, 12, 13.5}},
		{"2d_ceil_count_include_pad", incl(ceil2d()), seqTensor(1, 1, 4, 4), []int{1, 1, 2, 2}, []float32{6, 7.5, 12, 13.5}},
		{"ceil_pads", ceilPads(), seqTensor(1, 1, 5), []int{1, 1, 3}, []float32{1, 2.5, 4.5}},
		{"ceil_pads_count_include_pad", incl(ceilPads()), seqTensor(1, 1, 5), []int{1, 1, 3}, []float32{0.5, 2.5, 4.5}},
		{"same_upper", same("SAME_UPPER"), seqTensor(1, 1, 5), []int{1, 1, 3}, []float32{1.5, 3.5, 5}},
		{"same_lower", same("SAME_LOWER"), seqTensor(1, 1, 5), []int{1, 1, 3}, []float32{1, 2.5, 4.5}},
		{"same_upper_count_include_pad", incl(same("SAME_UPPER")), seqTensor(1, 1, 5), []int{1, 1, 3}, []float32{1.5, 3.5, 2.5}},
		{"same_lower_count_include_pad", incl(same("SAME_LOWER")), seqTensor(1, 1, 5), []int{1, 1, 3}, []float32{0.5, 2.5, 4.5}},
		{"dilations", Attrs{"kernel_shape": []int64{2}, "dilations": []int64{2}}, seqTensor(1, 1, 5), []int{1, 1, 3}, []float32{2, 3, 4}},
		{"dilations_pads", dil(), seqTensor(1, 1, 5), []int{1, 1, 5}, []float32{2, 2, 3, 4, 4}},
		{"dilations_pads_count_include_pad", incl(dil()), seqTensor(1, 1, 5), []int{1, 1, 5}, []float32{1, 2, 3, 4, 2}},
		{"3d", Attrs{"kernel_shape": []int64{2, 2, 2}}, seqTensor(1, 1, 2, 2, 3), []int{1, 1, 1, 1, 2}, []float32{6, 7}},
		// ONNX test_averagepool_2d_precomputed_pads_count_include_pad, first row.
		{"precomputed_pads_count_include_pad", Attrs{"kernel_shape": []int64{5, 5}, "pads": []int64{2, 2, 2, 2}, "count_include_pad": int64(1)}, seqTensor(1, 1, 5, 5), []int{1, 1, 5, 5}, []float32{
			2.52, 3.6, 4.8, 4.08, 3.24, 4.56, 6.4, 8.4, 7.04, 5.52, 7.2, 10, 13, 10.8, 8.4, 6.96, 9.6, 12.4, 10.24, 7.92, 6.12, 8.4, 10.8, 8.88, 6.84}},
	})
}

func TestAveragePoolBackwardValues(t *testing.T) {
	// Windows (pad,1,2), (1,2,3), (2,3,pad) with counts 2, 3, 2 (or 3, 3, 3).
	x := seqTensor(1, 1, 3)
	gy := FromData([]float32{6, 3, 12}, 1, 1, 3)
	k := newKernel(t, "AveragePool", Attrs{"kernel_shape": []int64{3}, "pads": []int64{1, 1}}, []*Tensor{x})
	assertClose(t, vjpOf(t, k, x, gy, Guided), []float32{3 + 1, 3 + 1 + 6, 1 + 6}, 1e-6)
	k = newKernel(t, "AveragePool", Attrs{"kernel_shape": []int64{3}, "pads": []int64{1, 1}, "count_include_pad": int64(1)}, []*Tensor{x})
	assertClose(t, vjpOf(t, k, x, gy, Vanilla), []float32{2 + 1, 2 + 1 + 4, 1 + 4}, 1e-6)
}

func TestAveragePoolGrad(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for _, c := range maxPoolGradCases {
		for _, include := range []int64{0, 1} {
			attrs := Attrs{"count_include_pad": include}
			for k, v := range c.attrs {
				attrs[k] = v
			}
			name := c.name
			if include == 1 {
				name += "_count_include_pad"
			}
			t.Run(name, func(t *testing.T) {
				x := randTensor(r, c.shape...)
				checkGrad(t, newKernel(t, "AveragePool", attrs, []*Tensor{x}), []*Tensor{x}, 0, 1e-2, 1e-3)
			})
		}
	}
}

func TestGlobalPool(t *testing.T) {
	x := FromData([]float32{1, 2, 3, 4, -1, -5, -2, -3, 0, 9, 9, 1}, 1, 3, 2, 2)
	avg := newKernel(t, "GlobalAveragePool", nil, []*Tensor{x})
	y := runKernel(t, avg, x)
	if !SameShape(y.Shape, []int{1, 3, 1, 1}) {
		t.Fatalf("shape %v", y.Shape)
	}
	assertClose(t, y, []float32{2.5, -2.75, 4.75}, 1e-6)
	mx := newKernel(t, "GlobalMaxPool", nil, []*Tensor{x})
	assertClose(t, runKernel(t, mx, x), []float32{4, -1, 9}, 0)
	gy := FromData([]float32{4, -8, 2}, 1, 3, 1, 1)
	assertClose(t, vjpOf(t, avg, x, gy, Vanilla), []float32{1, 1, 1, 1, -2, -2, -2, -2, 0.5, 0.5, 0.5, 0.5}, 1e-6)
	assertClose(t, vjpOf(t, mx, x, gy, Deconvnet), []float32{0, 0, 0, 4, -8, 0, 0, 0, 0, 2, 0, 0}, 0)

	r := rand.New(rand.NewSource(3))
	for _, shape := range [][]int{{2, 3, 4, 5}, {1, 2, 7}, {1, 2, 2, 3, 2}} {
		x := distinctTensor(r, shape...)
		y := runKernel(t, newKernel(t, "GlobalMaxPool", nil, []*Tensor{x}), x)
		if y.Rank() != len(shape) || y.Len() != shape[0]*shape[1] {
			t.Errorf("GlobalMaxPool of %v: shape %v", shape, y.Shape)
		}
		for _, op := range []string{"GlobalAveragePool", "GlobalMaxPool"} {
			checkGrad(t, newKernel(t, op, nil, []*Tensor{x}), []*Tensor{x}, 0, 1e-3, 1e-2)
		}
	}
}

// Large tensors are split across goroutines by plane; the result must match
// pooling each plane on its own.
func TestPoolParallelMatchesPlanes(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	const c, h, w = 48, 24, 24
	x := randTensor(r, 1, c, h, w)
	for _, op := range []string{"MaxPool", "AveragePool"} {
		attrs := Attrs{"kernel_shape": []int64{3, 3}, "pads": []int64{1, 1, 1, 1}}
		k := newKernel(t, op, attrs, []*Tensor{x})
		y := runKernel(t, k, x)
		gy := randTensor(r, y.Shape...)
		gx := vjpOf(t, k, x, gy, Vanilla)
		no := h * w
		for p := range c {
			xp := FromData(x.Data[p*h*w:(p+1)*h*w], 1, 1, h, w)
			assertClose(t, &Tensor{Data: y.Data[p*no : (p+1)*no]}, runKernel(t, k, xp).Data, 0)
			gp := vjpOf(t, k, xp, FromData(gy.Data[p*no:(p+1)*no], 1, 1, h, w), Vanilla)
			assertClose(t, &Tensor{Data: gx.Data[p*h*w : (p+1)*h*w]}, gp.Data, 0)
		}
	}
}

func TestPoolErrors(t *testing.T) {
	for _, c := range []struct {
		op    string
		attrs Attrs
		want  string
	}{
		{"MaxPool", Attrs{}, "kernel_shape is required"},
		{"MaxPool", Attrs{"kernel_shape": []int64{2, 2, 2, 2}}, "at most 3"},
		{"MaxPool", Attrs{"kernel_shape": []int64{2, 2}, "strides": []int64{2}}, "strides"},
		{"MaxPool", Attrs{"kernel_shape": []int64{2, 2}, "strides": []int64{0, 1}}, "strides"},
		{"MaxPool", Attrs{"kernel_shape": []int64{2, 2}, "pads": []int64{1, 1}}, "pads"},
		{"MaxPool", Attrs{"kernel_shape": []int64{2, 2}, "pads": []int64{1, 1, -1, 1}}, "pads"},
		{"MaxPool", Attrs{"kernel_shape": []int64{2, 0}}, "kernel_shape"},
		{"MaxPool", Attrs{"kernel_shape": []int64{2}, "dilations": []int64{0}}, "dilations"},
		{"MaxPool", Attrs{"kernel_shape": []int64{2}, "auto_pad": "SAME"}, "auto_pad"},
		{"MaxPool", Attrs{"kernel_shape": []int64{2}, "storage_order": int64(2)}, "storage_order"},
		{"AveragePool", Attrs{"kernel_shape": []int64{2}, "ceil_mode": int64(3)}, "ceil_mode"},
		{"AveragePool", Attrs{"kernel_shape": []int64{2}, "count_include_pad": int64(2)}, "count_include_pad"},
	} {
		if _, err := buildOpN(c.op, c.attrs, 1, 1); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: error %v, want one mentioning %q", c.op, c.attrs, err, c.want)
		}
	}

	k := newKernel(t, "MaxPool", Attrs{"kernel_shape": []int64{3, 3}}, nil)
	for _, c := range []struct {
		x    *Tensor
		want string
	}{
		{NewTensor(1, 1, 5), "rank 4"},
		{NewTensor(1, 1, 2, 5), "too small"},
	} {
		if _, err := k.forward(newScratch(), []*Tensor{c.x}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("input %v: error %v, want one mentioning %q", c.x, err, c.want)
		}
	}
	avg := newKernel(t, "AveragePool", Attrs{"kernel_shape": []int64{3, 3}}, nil)
	if _, err := avg.forward(newScratch(), []*Tensor{FromInts(make([]int64, 25), 1, 1, 5, 5)}); err == nil || !strings.Contains(err.Error(), "float32") {
		t.Errorf("AveragePool of int64: error %v", err)
	}
	g := newKernel(t, "GlobalAveragePool", nil, nil)
	if _, err := g.forward(newScratch(), []*Tensor{NewTensor(4)}); err == nil {
		t.Errorf("GlobalAveragePool of a 1-d tensor: no error")
	}
}

// BenchmarkMaxPool is a ResNet stem pool (3x3, stride 2, pad 1 on 64 x 112 x 112), forward and backward.
func BenchmarkMaxPool(b *testing.B) {
	r := rand.New(rand.NewSource(1))
	x := randTensor(r, 1, 64, 112, 112)
	k := newKernel(b, "MaxPool", Attrs{"kernel_shape": []int64{3, 3}, "strides": []int64{2, 2}, "pads": []int64{1, 1, 1, 1}}, []*Tensor{x})
	s := newScratch()
	b.ReportAllocs()
	for b.Loop() {
		s.reset()
		outs, err := k.forward(s, []*Tensor{x})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := k.backward(s, []*Tensor{x}, outs, outs, []bool{true}, Vanilla); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMaxPool2x2FastPath checks the 2x2 stride-2 paths, forward and
// backward, against a direct computation, on even and odd sizes and with
// ceil mode's partial windows, which must leave the fast paths.
func TestMaxPool2x2FastPath(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for _, c := range []struct {
		h, w int
		ceil int64
	}{{8, 8, 0}, {7, 9, 0}, {6, 5, 1}, {2, 2, 0}} {
		x := randTensor(r, 2, 3, c.h, c.w)
		attrs := Attrs{"kernel_shape": []int64{2, 2}, "strides": []int64{2, 2}, "ceil_mode": c.ceil}
		fast := newKernel(t, "MaxPool", attrs, []*Tensor{x})
		ys, err := fast.forward(newScratch(), []*Tensor{x})
		if err != nil {
			t.Fatal(err)
		}
		// Reference: every output is the max of its (clipped) window, and
		// its gradient goes to the first tap (row by row) holding it.
		y := ys[0]
		gy := randTensor(r, y.Shape...)
		gs, err := fast.backward(newScratch(), []*Tensor{x}, ys, []*Tensor{gy}, []bool{true}, Vanilla)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float32, len(x.Data))
		oh, ow := y.Shape[2], y.Shape[3]
		for p := range 6 {
			for oy := range oh {
				for ox := range ow {
					best, at := float32(math.Inf(-1)), -1
					for dy := range 2 {
						for dx := range 2 {
							if iy, ix := 2*oy+dy, 2*ox+dx; iy < c.h && ix < c.w {
								if v := x.Data[p*c.h*c.w+iy*c.w+ix]; v > best {
									best, at = v, p*c.h*c.w+iy*c.w+ix
								}
							}
						}
					}
					want[at] += gy.Data[p*oh*ow+oy*ow+ox]
					if got := y.Data[p*oh*ow+oy*ow+ox]; got != best {
						t.Fatalf("%dx%d ceil %d: plane %d out (%d,%d) = %v, want %v", c.h, c.w, c.ceil, p, oy, ox, got, best)
					}
				}
			}
		}
		for i, v := range gs[0].Data {
			if v != want[i] {
				t.Fatalf("%dx%d ceil %d: input gradient %d = %v, want %v", c.h, c.w, c.ceil, i, v, want[i])
			}
		}
	}
}
