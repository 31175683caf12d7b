package model

import (
	"errors"
	"math/rand"
	"slices"
	"testing"
)

// Helpers for the shape-op tests (shapeops, concat, gather, pad).

// shapeNode describes a node for the given opset with outputs outputs.
func shapeNode(op string, opset, outputs int, attrs Attrs, inputs int) *nodeInfo {
	if attrs == nil {
		attrs = Attrs{}
	}
	return &nodeInfo{Name: "test_" + op, Op: op, Opset: opset, Attrs: attrs, Inputs: inputs, Outputs: outputs}
}

// shapeKernelAt builds op for a node at the given opset and output count.
func shapeKernelAt(t testing.TB, op string, opset, outputs int, attrs Attrs, inputs int) kernel {
	t.Helper()
	k, err := registry[op](shapeNode(op, opset, outputs, attrs, inputs))
	if err != nil {
		t.Fatalf("build %s (opset %d): %v", op, opset, err)
	}
	return k
}

// shapeForwardErr runs k and fails unless forward returns an error.
func shapeForwardErr(t testing.TB, k kernel, in ...*Tensor) {
	t.Helper()
	if out, err := k.forward(newScratch(), in); err == nil {
		t.Errorf("forward succeeded with %v, want an error", out)
	}
}

// shapeIs fails unless got has the wanted shape and dtype.
func shapeIs(t testing.TB, got *Tensor, dt DType, shape ...int) {
	t.Helper()
	if got.DType != dt || !SameShape(got.Shape, shape) {
		t.Fatalf("got %v, want %v[%s]", got, dt, ShapeString(shape))
	}
}

// assertInts fails unless got is an int64 tensor holding want.
func assertInts(t testing.TB, got *Tensor, want ...int64) {
	t.Helper()
	if got.DType != Int64 || !slices.Equal(got.Ints, want) {
		t.Errorf("got %v %v, want int64 %v", got, got.Ints, want)
	}
}

// shapeIota returns 0, 1, ..., n-1 as float32.
func shapeIota(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i)
	}
	return v
}

// sharesData reports whether a and b use the same backing float array.
func sharesData(a, b *Tensor) bool {
	return len(a.Data) > 0 && len(b.Data) > 0 && &a.Data[0] == &b.Data[0]
}

func i64s(v ...int64) *Tensor { return FromInts(v, len(v)) }

func TestFlatten(t *testing.T) {
	x := FromData(shapeIota(24), 2, 3, 4)
	for _, c := range []struct {
		axis  int
		shape []int
	}{{1, []int{2, 12}}, {0, []int{1, 24}}, {2, []int{6, 4}}, {3, []int{24, 1}}, {-1, []int{6, 4}}, {-3, []int{1, 24}}} {
		k := newKernel(t, "Flatten", Attrs{"axis": int64(c.axis)}, []*Tensor{x})
		y := runKernel(t, k, x)
		shapeIs(t, y, Float32, c.shape...)
		assertClose(t, y, shapeIota(24), 0)
		if !sharesData(x, y) {
			t.Errorf("axis %d: Flatten copied its input", c.axis)
		}
	}
	// default axis 1, and int64 data
	xi := FromInts([]int64{1, 2, 3, 4, 5, 6}, 1, 2, 3)
	y := runKernel(t, newKernel(t, "Flatten", nil, []*Tensor{xi}), xi)
	shapeIs(t, y, Int64, 1, 6)
	assertInts(t, y, 1, 2, 3, 4, 5, 6)

	shapeForwardErr(t, newKernel(t, "Flatten", Attrs{"axis": int64(4)}, []*Tensor{x}), x)
	shapeForwardErr(t, newKernel(t, "Flatten", Attrs{"axis": int64(-4)}, []*Tensor{x}), x)

	r := rand.New(rand.NewSource(1))
	xr := randTensor(r, 2, 3, 2)
	k := newKernel(t, "Flatten", Attrs{"axis": int64(2)}, []*Tensor{xr})
	checkGrad(t, k, []*Tensor{xr}, 0, 1e-2, 1e-3)
}

func TestReshape(t *testing.T) {
	x := FromData(shapeIota(24), 2, 3, 4)
	for _, c := range []struct {
		shape []int64
		want  []int
	}{
		{[]int64{4, 0, -1}, []int{4, 3, 2}}, // 0 copies x.shape[1]
		{[]int64{-1}, []int{24}},
		{[]int64{2, 0, 0, 1}, []int{2, 3, 4, 1}},
		{[]int64{0, -1}, []int{2, 12}},
	} {
		sh := i64s(c.shape...)
		y := runKernel(t, newKernel(t, "Reshape", nil, []*Tensor{x, sh}, 1), x, sh)
		shapeIs(t, y, Float32, c.want...)
		assertClose(t, y, shapeIota(24), 0)
		if !sharesData(x, y) {
			t.Errorf("shape %v: Reshape copied its input", c.shape)
		}
	}

	// allowzero=1: a 0 is a real zero dimension.
	empty := &Tensor{Shape: []int{0, 3, 4}}
	k := newKernel(t, "Reshape", Attrs{"allowzero": int64(1)}, []*Tensor{empty, i64s(3, 4, 0)})
	shapeIs(t, runKernel(t, k, empty, i64s(3, 4, 0)), Float32, 3, 4, 0)
	shapeForwardErr(t, k, x, i64s(0, -1)) // 0 and -1 together with allowzero

	// int64 data flows through (shape arithmetic in torch exports).
	xi := FromInts([]int64{7, 8, 9, 10}, 4)
	y := runKernel(t, newKernel(t, "Reshape", nil, []*Tensor{xi, i64s(2, 2)}), xi, i64s(2, 2))
	shapeIs(t, y, Int64, 2, 2)
	assertInts(t, y, 7, 8, 9, 10)

	kr := newKernel(t, "Reshape", nil, []*Tensor{x, i64s(-1)})
	shapeForwardErr(t, kr, x, i64s(-1, -1))         // two -1
	shapeForwardErr(t, kr, x, i64s(5, -1))          // 24 not divisible by 5
	shapeForwardErr(t, kr, x, i64s(2, 3, 5))        // wrong count
	shapeForwardErr(t, kr, x, i64s(1, 1, 1, 0, 24)) // 0 beyond the input's rank
	shapeForwardErr(t, kr, x, i64s(-2, 12))         // invalid negative
	shapeForwardErr(t, kr, x, FromData([]float32{24}, 1))

	r := rand.New(rand.NewSource(2))
	xr := randTensor(r, 2, 6)
	sh := i64s(3, -1)
	checkGrad(t, newKernel(t, "Reshape", nil, []*Tensor{xr, sh}, 1), []*Tensor{xr, sh}, 0, 1e-2, 1e-3)
}

func TestSqueeze(t *testing.T) {
	x := FromData(shapeIota(6), 1, 3, 1, 2)
	// opset 13: no axes removes every size-1 dimension
	y := runKernel(t, newKernel(t, "Squeeze", nil, []*Tensor{x}), x)
	shapeIs(t, y, Float32, 3, 2)
	assertClose(t, y, shapeIota(6), 0)
	if !sharesData(x, y) {
		t.Error("Squeeze copied its input")
	}
	// opset 13: axes input, negative
	k := newKernel(t, "Squeeze", nil, []*Tensor{x, i64s(-2)})
	shapeIs(t, runKernel(t, k, x, i64s(-2)), Float32, 1, 3, 2)
	shapeIs(t, runKernel(t, k, x, i64s(0, 2)), Float32, 3, 2)
	shapeForwardErr(t, k, x, i64s(1))    // size 3
	shapeForwardErr(t, k, x, i64s(4))    // out of range
	shapeForwardErr(t, k, x, i64s(0, 0)) // repeated
	// opset 11: axes attribute
	k11 := shapeKernelAt(t, "Squeeze", 11, 1, Attrs{"axes": []int64{0}}, 1)
	shapeIs(t, runKernel(t, k11, x), Float32, 3, 1, 2)

	r := rand.New(rand.NewSource(3))
	xr := randTensor(r, 3, 1, 2)
	checkGrad(t, newKernel(t, "Squeeze", nil, []*Tensor{xr, i64s(1)}), []*Tensor{xr, i64s(1)}, 0, 1e-2, 1e-3)
}

func TestUnsqueeze(t *testing.T) {
	x := FromData(shapeIota(12), 3, 4)
	k := newKernel(t, "Unsqueeze", nil, []*Tensor{x, i64s(0)})
	for _, c := range []struct {
		axes []int64
		want []int
	}{
		{[]int64{0}, []int{1, 3, 4}},
		{[]int64{2}, []int{3, 4, 1}},
		{[]int64{-1}, []int{3, 4, 1}},
		{[]int64{1, 3}, []int{3, 1, 4, 1}},
		{[]int64{3, 0}, []int{1, 3, 4, 1}}, // unsorted
		{[]int64{0, 1, -1}, []int{1, 1, 3, 4, 1}},
	} {
		y := runKernel(t, k, x, i64s(c.axes...))
		shapeIs(t, y, Float32, c.want...)
		assertClose(t, y, shapeIota(12), 0)
		if !sharesData(x, y) {
			t.Errorf("axes %v: Unsqueeze copied its input", c.axes)
		}
	}
	shapeForwardErr(t, k, x, i64s(3))    // output rank is 3
	shapeForwardErr(t, k, x, i64s(1, 1)) // repeated
	shapeForwardErr(t, k, x)             // axes input missing

	// scalar int64 -> [1] (the Shape->Gather->Unsqueeze->Concat chain)
	s := FromInts([]int64{42})
	y := runKernel(t, k, s, i64s(0))
	shapeIs(t, y, Int64, 1)
	assertInts(t, y, 42)

	// opset 11: axes attribute, required
	k11 := shapeKernelAt(t, "Unsqueeze", 11, 1, Attrs{"axes": []int64{1}}, 1)
	shapeIs(t, runKernel(t, k11, x), Float32, 3, 1, 4)
	if _, err := registry["Unsqueeze"](shapeNode("Unsqueeze", 11, 1, nil, 1)); err == nil {
		t.Error("opset 11 Unsqueeze without axes: no error")
	}

	r := rand.New(rand.NewSource(4))
	xr := randTensor(r, 2, 3)
	checkGrad(t, k, []*Tensor{xr, i64s(1)}, 0, 1e-2, 1e-3)
}

func TestTranspose(t *testing.T) {
	// default reverses the axes
	x := FromData([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	y := runKernel(t, newKernel(t, "Transpose", nil, []*Tensor{x}), x)
	shapeIs(t, y, Float32, 3, 2)
	assertClose(t, y, []float32{1, 4, 2, 5, 3, 6}, 0)
	if sharesData(x, y) {
		t.Error("Transpose aliased its input")
	}

	// x[i][j][k] = 100i + 10j + k, shape 2x3x2; perm [1,2,0]: y[j][k][i] = x[i][j][k]
	x3 := NewTensor(2, 3, 2)
	for i := range 2 {
		for j := range 3 {
			for k := range 2 {
				x3.Data[i*6+j*2+k] = float32(100*i + 10*j + k)
			}
		}
	}
	k3 := newKernel(t, "Transpose", Attrs{"perm": []int64{1, 2, 0}}, []*Tensor{x3})
	y3 := runKernel(t, k3, x3)
	shapeIs(t, y3, Float32, 3, 2, 2)
	assertClose(t, y3, []float32{0, 100, 1, 101, 10, 110, 11, 111, 20, 120, 21, 121}, 0)

	// int64 data
	xi := FromInts([]int64{1, 2, 3, 4, 5, 6}, 3, 2)
	yi := runKernel(t, newKernel(t, "Transpose", Attrs{"perm": []int64{1, 0}}, []*Tensor{xi}), xi)
	shapeIs(t, yi, Int64, 2, 3)
	assertInts(t, yi, 1, 3, 5, 2, 4, 6)

	if _, err := registry["Transpose"](shapeNode("Transpose", 13, 1, Attrs{"perm": []int64{0, 0}}, 1)); err == nil {
		t.Error("perm [0 0]: no error")
	}
	shapeForwardErr(t, k3, x) // rank 2 input for a rank-3 perm

	r := rand.New(rand.NewSource(5))
	for _, perm := range [][]int64{{1, 2, 0}, {2, 0, 1}, {0, 2, 1}} {
		xr := randTensor(r, 2, 3, 4)
		checkGrad(t, newKernel(t, "Transpose", Attrs{"perm": perm}, []*Tensor{xr}), []*Tensor{xr}, 0, 1e-2, 1e-3)
	}
	x4 := randTensor(r, 2, 3, 2, 3)
	checkGrad(t, newKernel(t, "Transpose", Attrs{"perm": []int64{0, 2, 3, 1}}, []*Tensor{x4}), []*Tensor{x4}, 0, 1e-2, 1e-3)
}

func TestShape(t *testing.T) {
	x := NewTensor(2, 3, 4)
	y := runKernel(t, newKernel(t, "Shape", nil, []*Tensor{x}), x)
	shapeIs(t, y, Int64, 3)
	assertInts(t, y, 2, 3, 4)

	for _, c := range []struct {
		attrs Attrs
		want  []int64
	}{
		{Attrs{"start": int64(1)}, []int64{3, 4}},
		{Attrs{"start": int64(-2)}, []int64{3, 4}},
		{Attrs{"end": int64(1)}, []int64{2}},
		{Attrs{"end": int64(-1)}, []int64{2, 3}},
		{Attrs{"start": int64(1), "end": int64(2)}, []int64{3}},
		{Attrs{"start": int64(-10), "end": int64(10)}, []int64{2, 3, 4}}, // clamped
		{Attrs{"start": int64(2), "end": int64(1)}, []int64{}},
	} {
		y := runKernel(t, shapeKernelAt(t, "Shape", 15, 1, c.attrs, 1), x)
		shapeIs(t, y, Int64, len(c.want))
		assertInts(t, y, c.want...)
	}
	// before opset 15 the attributes do not exist
	y = runKernel(t, shapeKernelAt(t, "Shape", 13, 1, Attrs{"start": int64(1)}, 1), x)
	assertInts(t, y, 2, 3, 4)
	// scalar input: empty shape
	y = runKernel(t, newKernel(t, "Shape", nil, []*Tensor{FromData([]float32{1})}), FromData([]float32{1}))
	shapeIs(t, y, Int64, 0)
}

func TestIdentityDropout(t *testing.T) {
	x := FromData([]float32{-1, 0, 1}, 3)
	y := runKernel(t, newKernel(t, "Identity", nil, []*Tensor{x}), x)
	assertClose(t, y, []float32{-1, 0, 1}, 0)
	if !sharesData(x, y) {
		t.Error("Identity copied its input")
	}

	// opset 13 with the mask output: all true, as int64 ones
	k := shapeKernelAt(t, "Dropout", 13, 2, nil, 2)
	outs, err := k.forward(newScratch(), []*Tensor{x, FromData([]float32{0.3})})
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, outs[0], []float32{-1, 0, 1}, 0)
	shapeIs(t, outs[1], Int64, 3)
	assertInts(t, outs[1], 1, 1, 1)
	// opset 7: the mask has the input's type
	outs, err = shapeKernelAt(t, "Dropout", 7, 2, Attrs{"ratio": float32(0.2)}, 1).forward(newScratch(), []*Tensor{x})
	if err != nil {
		t.Fatal(err)
	}
	shapeIs(t, outs[1], Float32, 3)
	assertClose(t, outs[1], []float32{1, 1, 1}, 0)
	// training mode only works as identity when the ratio is 0
	kt := shapeKernelAt(t, "Dropout", 13, 1, nil, 3)
	shapeForwardErr(t, kt, x, FromData([]float32{0.5}), FromInts([]int64{1}))
	shapeForwardErr(t, kt, x, nil, FromInts([]int64{1})) // default ratio 0.5
	if _, err := kt.forward(newScratch(), []*Tensor{x, FromData([]float32{0}), FromInts([]int64{1})}); err != nil {
		t.Errorf("training mode with ratio 0: %v", err)
	}
	if _, err := kt.forward(newScratch(), []*Tensor{x, FromData([]float32{0.5}), FromInts([]int64{0})}); err != nil {
		t.Errorf("training_mode false: %v", err)
	}

	r := rand.New(rand.NewSource(6))
	xr := randTensor(r, 2, 3)
	checkGrad(t, newKernel(t, "Identity", nil, []*Tensor{xr}), []*Tensor{xr}, 0, 1e-2, 1e-3)
	checkGrad(t, newKernel(t, "Dropout", nil, []*Tensor{xr}), []*Tensor{xr}, 0, 1e-2, 1e-3)

	// The gradient is a copy, never the output gradient itself.
	g := FromData([]float32{1, 2, 3}, 3)
	gi, err := newKernel(t, "Identity", nil, []*Tensor{x}).backward(newScratch(), []*Tensor{x}, []*Tensor{y}, []*Tensor{g}, []bool{true}, Vanilla)
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, gi[0], []float32{1, 2, 3}, 0)
	if sharesData(gi[0], g) {
		t.Error("Identity backward aliased the output gradient")
	}
}

func TestConstant(t *testing.T) {
	v := FromData([]float32{1.5, -2}, 2, 1)
	k := newKernel(t, "Constant", Attrs{"value": v}, nil)
	y := runKernel(t, k)
	shapeIs(t, y, Float32, 2, 1)
	assertClose(t, y, []float32{1.5, -2}, 0)
	y.Data[0] = 99 // a caller writing into the output must not change the constant
	assertClose(t, runKernel(t, k), []float32{1.5, -2}, 0)

	y = runKernel(t, newKernel(t, "Constant", Attrs{"value": FromInts([]int64{3, 4}, 2)}, nil))
	assertInts(t, y, 3, 4)
	y = runKernel(t, newKernel(t, "Constant", Attrs{"value_float": float32(0.25)}, nil))
	shapeIs(t, y, Float32)
	assertClose(t, y, []float32{0.25}, 0)
	y = runKernel(t, newKernel(t, "Constant", Attrs{"value_floats": []float32{1, 2, 3}}, nil))
	shapeIs(t, y, Float32, 3)
	assertClose(t, y, []float32{1, 2, 3}, 0)
	y = runKernel(t, newKernel(t, "Constant", Attrs{"value_int": int64(-7)}, nil))
	shapeIs(t, y, Int64)
	assertInts(t, y, -7)
	y = runKernel(t, newKernel(t, "Constant", Attrs{"value_ints": []int64{1, -1}}, nil))
	shapeIs(t, y, Int64, 2)
	assertInts(t, y, 1, -1)

	for _, bad := range []Attrs{
		{},
		{"value_float": float32(1), "value_int": int64(1)},
		{"value_string": "x"},
		{"value": "not a tensor"},
	} {
		if _, err := registry["Constant"](shapeNode("Constant", 13, 1, bad, 0)); err == nil {
			t.Errorf("Constant %v: no error", bad)
		}
	}
}

func TestCast(t *testing.T) {
	const (
		toFloat  = int64(onnxFloat)
		toInt64  = int64(onnxInt64)
		toInt32  = int64(onnxInt32)
		toUint8  = int64(onnxUint8)
		toBool   = int64(onnxBool)
		toDouble = int64(onnxDouble)
	)
	x := FromData([]float32{1.7, -1.7, 2.5, 0, 0.25}, 5)
	y := runKernel(t, newKernel(t, "Cast", Attrs{"to": toInt64}, []*Tensor{x}), x)
	shapeIs(t, y, Int64, 5)
	assertInts(t, y, 1, -1, 2, 0, 0) // truncation toward zero
	y = runKernel(t, newKernel(t, "Cast", Attrs{"to": toBool}, []*Tensor{x}), x)
	assertInts(t, y, 1, 1, 1, 0, 1) // 0.25 is true
	y = runKernel(t, newKernel(t, "Cast", Attrs{"to": toDouble}, []*Tensor{x}), x)
	shapeIs(t, y, Float32, 5)
	assertClose(t, y, x.Data, 0)
	if sharesData(x, y) {
		t.Error("Cast aliased its input")
	}

	xi := FromInts([]int64{3, -4, 1 << 31, 300}, 4)
	y = runKernel(t, newKernel(t, "Cast", Attrs{"to": toFloat}, []*Tensor{xi}), xi)
	shapeIs(t, y, Float32, 4)
	assertClose(t, y, []float32{3, -4, 1 << 31, 300}, 0)
	y = runKernel(t, newKernel(t, "Cast", Attrs{"to": toInt32}, []*Tensor{xi}), xi)
	assertInts(t, y, 3, -4, -1<<31, 300) // wraps like numpy astype
	y = runKernel(t, newKernel(t, "Cast", Attrs{"to": toUint8}, []*Tensor{xi}), xi)
	assertInts(t, y, 3, 252, 0, 44)
	y = runKernel(t, newKernel(t, "Cast", Attrs{"to": toInt64}, []*Tensor{xi}), xi)
	assertInts(t, y, 3, -4, 1<<31, 300)

	for _, to := range []int64{onnxFloat16, onnxBfloat16, onnxString} {
		_, err := registry["Cast"](shapeNode("Cast", 13, 1, Attrs{"to": to}, 1))
		if !errors.Is(err, ErrUnsupportedDType) {
			t.Errorf("cast to %d: error %v, want ErrUnsupportedDType", to, err)
		}
	}
	if _, err := registry["Cast"](shapeNode("Cast", 13, 1, nil, 1)); err == nil {
		t.Error("Cast without to: no error")
	}

	r := rand.New(rand.NewSource(8))
	xr := randTensor(r, 2, 3)
	checkGrad(t, newKernel(t, "Cast", Attrs{"to": toFloat}, []*Tensor{xr}), []*Tensor{xr}, 0, 1e-2, 1e-3)
	// float -> int64 has no gradient: zeros of the input's shape
	k := newKernel(t, "Cast", Attrs{"to": toInt64}, []*Tensor{xr})
	out := runKernel(t, k, xr)
	g, err := k.backward(newScratch(), []*Tensor{xr}, []*Tensor{out}, []*Tensor{nil}, []bool{true}, Vanilla)
	if err != nil {
		t.Fatal(err)
	}
	shapeIs(t, g[0], Float32, 2, 3)
	assertClose(t, g[0], make([]float32, 6), 0)
}
