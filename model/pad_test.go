package model

import (
	"math/rand"
	"testing"
)

// padKernel13 builds an opset-13 Pad with the given mode and input count.
func padKernel13(t *testing.T, mode string, inputs int) kernel {
	return shapeKernelAt(t, "Pad", 13, 1, Attrs{"mode": mode}, inputs)
}

func TestPadForward(t *testing.T) {
	x := FromData([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	pads := i64s(1, 2, 0, 1) // rows: 1 before; cols: 2 before, 1 after
	// want values from numpy.pad(x, ((1, 0), (2, 1)), mode)
	y := runKernel(t, padKernel13(t, "constant", 3), x, pads, FromData([]float32{9}))
	shapeIs(t, y, Float32, 3, 6)
	assertClose(t, y, []float32{9, 9, 9, 9, 9, 9, 9, 9, 1, 2, 3, 9, 9, 9, 4, 5, 6, 9}, 0)
	y = runKernel(t, padKernel13(t, "reflect", 2), x, pads)
	assertClose(t, y, []float32{6, 5, 4, 5, 6, 5, 3, 2, 1, 2, 3, 2, 6, 5, 4, 5, 6, 5}, 0)
	y = runKernel(t, padKernel13(t, "edge", 2), x, pads)
	assertClose(t, y, []float32{1, 1, 1, 2, 3, 3, 1, 1, 1, 2, 3, 3, 4, 4, 4, 5, 6, 6}, 0)
	// default mode constant, default value 0
	y = runKernel(t, shapeKernelAt(t, "Pad", 13, 1, nil, 2), x, i64s(0, 1, 0, 0))
	assertClose(t, y, []float32{0, 1, 2, 3, 0, 4, 5, 6}, 0)

	// reflect wider than the axis repeats the mirror (numpy.pad):
	// numpy.pad([1, 2, 3], (5, 6), "reflect")
	x1 := FromData([]float32{1, 2, 3}, 3)
	y = runKernel(t, padKernel13(t, "reflect", 2), x1, i64s(5, 6))
	assertClose(t, y, []float32{2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2, 1}, 0)
	// a single element reflects onto itself
	y = runKernel(t, padKernel13(t, "reflect", 2), FromData([]float32{7}, 1), i64s(2, 1))
	assertClose(t, y, []float32{7, 7, 7, 7}, 0)

	// negative pads crop
	y = runKernel(t, padKernel13(t, "constant", 2), x, i64s(0, -1, -1, 1))
	shapeIs(t, y, Float32, 1, 3)
	assertClose(t, y, []float32{2, 3, 0}, 0)
	y = runKernel(t, padKernel13(t, "edge", 2), x1, i64s(-1, 2))
	assertClose(t, y, []float32{2, 3, 3, 3}, 0)

	// int64 data
	y = runKernel(t, padKernel13(t, "constant", 3), i64s(4, 5), i64s(1, 2), i64s(-1))
	assertInts(t, y, -1, 4, 5, -1, -1)
	y = runKernel(t, padKernel13(t, "edge", 2), i64s(4, 5), i64s(1, 0))
	assertInts(t, y, 4, 4, 5)

	// opset 2-10: pads and value attributes
	k10 := shapeKernelAt(t, "Pad", 10, 1, Attrs{"pads": []int64{0, 1, 0, 0}, "value": float32(-2)}, 1)
	assertClose(t, runKernel(t, k10, x), []float32{-2, 1, 2, 3, -2, 4, 5, 6}, 0)
	// opset 18: axes input picks the padded axes (negative allowed)
	k18 := shapeKernelAt(t, "Pad", 18, 1, Attrs{"mode": "edge"}, 4)
	y = runKernel(t, k18, x, i64s(1, 0), nil, i64s(-1))
	shapeIs(t, y, Float32, 2, 4)
	assertClose(t, y, []float32{1, 1, 2, 3, 4, 4, 5, 6}, 0)
	y = runKernel(t, k18, x, i64s(1, 0, 0, 0), nil, nil) // no axes: all of them
	shapeIs(t, y, Float32, 3, 3)
	assertClose(t, y, []float32{1, 2, 3, 1, 2, 3, 4, 5, 6}, 0)

	// scalars pass through
	y = runKernel(t, padKernel13(t, "constant", 2), FromData([]float32{3}), i64s())
	shapeIs(t, y, Float32)
	assertClose(t, y, []float32{3}, 0)
}

func TestPadErrors(t *testing.T) {
	x := FromData([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	k := padKernel13(t, "reflect", 2)
	shapeForwardErr(t, k, x, i64s(1, 1))                         // 2 pads for rank 2
	shapeForwardErr(t, k, x, FromData([]float32{0, 0, 0, 0}, 4)) // float pads
	shapeForwardErr(t, k, x, i64s(0, -4, 0, 0))                  // crops below zero
	shapeForwardErr(t, k, &Tensor{Shape: []int{0, 3}}, i64s(1, 0, 0, 0))
	shapeForwardErr(t, k, x) // pads missing
	k18 := shapeKernelAt(t, "Pad", 18, 1, nil, 4)
	shapeForwardErr(t, k18, x, i64s(1, 0, 0, 0), nil, i64s(0)) // 4 pads for 1 axis
	shapeForwardErr(t, k18, x, i64s(1, 0, 0, 0), nil, i64s(0, -2))

	for _, bad := range []*nodeInfo{
		shapeNode("Pad", 13, 1, Attrs{"mode": "wrap"}, 2),
		shapeNode("Pad", 13, 1, nil, 1),
		shapeNode("Pad", 10, 1, nil, 1),
	} {
		if _, err := registry["Pad"](bad); err == nil {
			t.Errorf("Pad opset %d %v with %d inputs: no error", bad.Opset, bad.Attrs, bad.Inputs)
		}
	}
}

func TestPadBackward(t *testing.T) {
	// x = [a, b, c], pads (2, 1), g_y = [1 .. 6]
	x := FromData([]float32{1, 2, 3}, 3)
	gy := FromData([]float32{1, 2, 3, 4, 5, 6}, 6)
	pads := i64s(2, 1)
	for _, c := range []struct {
		mode   string
		wantGx []float32
	}{
		{"constant", []float32{3, 4, 5}}, // crop
		{"edge", []float32{1 + 2 + 3, 4, 5 + 6}},
		{"reflect", []float32{3, 2 + 4 + 6, 1 + 5}}, // y = [c b a b c b]
	} {
		val := FromData([]float32{0})
		in := []*Tensor{x, pads, val}
		k := padKernel13(t, c.mode, 3)
		out := runKernel(t, k, in...)
		g, err := k.backward(newScratch(), in, []*Tensor{out}, []*Tensor{gy}, []bool{true, false, true}, Vanilla)
		if err != nil {
			t.Fatal(err)
		}
		assertClose(t, g[0], c.wantGx, 0)
		wantGc := float32(0)
		if c.mode == "constant" {
			wantGc = 1 + 2 + 6
		}
		assertClose(t, g[2], []float32{wantGc}, 0)
	}

	r := rand.New(rand.NewSource(13))
	for _, mode := range []string{"constant", "reflect", "edge"} {
		for _, p := range [][]int64{
			{0, 1, 2, 0, 0, 1, 1, 0},   // NCHW spatial padding
			{0, 0, 3, 2, 0, 0, 1, 4},   // wider than the axis (reflect repeats)
			{0, 1, -1, 0, 0, 0, 2, -1}, // mixed cropping
		} {
			x := randTensor(r, 1, 2, 3, 3)
			val := FromData([]float32{0.5})
			in := []*Tensor{x, i64s(p...), val}
			k := padKernel13(t, mode, 3)
			checkGrad(t, k, in, 0, 1e-2, 1e-3)
			if mode == "constant" {
				checkGrad(t, k, in, 2, 1e-2, 1e-3)
			}
		}
	}
	// opset 10 attribute form
	x4 := randTensor(r, 2, 3)
	k10 := shapeKernelAt(t, "Pad", 10, 1, Attrs{"mode": "reflect", "pads": []int64{1, 2, 1, 1}}, 1)
	checkGrad(t, k10, []*Tensor{x4}, 0, 1e-2, 1e-3)
}
