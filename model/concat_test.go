package model

import (
	"math/rand"
	"testing"
)

func TestConcat(t *testing.T) {
	a := FromData([]float32{1, 2, 3, 4}, 2, 2)
	b := FromData([]float32{5, 6}, 2, 1)
	c := FromData([]float32{7, 8, 9, 10, 11, 12}, 2, 3)
	for _, axis := range []int64{1, -1} {
		k := newKernel(t, "Concat", Attrs{"axis": axis}, []*Tensor{a, b, c})
		y := runKernel(t, k, a, b, c)
		shapeIs(t, y, Float32, 2, 6)
		assertClose(t, y, []float32{1, 2, 5, 7, 8, 9, 3, 4, 6, 10, 11, 12}, 0)
	}
	b0 := FromData([]float32{5, 6}, 1, 2)
	for _, axis := range []int64{0, -2} {
		y := runKernel(t, newKernel(t, "Concat", Attrs{"axis": axis}, []*Tensor{a, b0}), a, b0)
		shapeIs(t, y, Float32, 3, 2)
		assertClose(t, y, []float32{1, 2, 3, 4, 5, 6}, 0)
		if sharesData(a, y) {
			t.Error("Concat aliased its first input")
		}
	}

	// int64 shape pieces, including an empty one
	k := newKernel(t, "Concat", Attrs{"axis": int64(0)}, []*Tensor{i64s(1), i64s(), i64s(-1, 7)})
	y := runKernel(t, k, i64s(1), i64s(), i64s(-1, 7))
	shapeIs(t, y, Int64, 3)
	assertInts(t, y, 1, -1, 7)

	k = newKernel(t, "Concat", Attrs{"axis": int64(1)}, []*Tensor{a, b0})
	shapeForwardErr(t, k, a, b0)         // dims differ off the axis
	shapeForwardErr(t, k, a, i64s(1, 2)) // dtype and rank mismatch
	shapeForwardErr(t, newKernel(t, "Concat", Attrs{"axis": int64(2)}, []*Tensor{a}), a)
	if _, err := registry["Concat"](shapeNode("Concat", 13, 1, nil, 2)); err == nil {
		t.Error("Concat without axis: no error")
	}

	r := rand.New(rand.NewSource(11))
	for _, axis := range []int64{0, 1, 2, -1} {
		shapes := [][]int{{2, 3, 2}, {2, 3, 2}}
		a := (axis + 3) % 3
		shapes[1][a] = 1 // the second input is thinner along the axis
		x0, x1 := randTensor(r, shapes[0]...), randTensor(r, shapes[1]...)
		in := []*Tensor{x0, x1}
		k := newKernel(t, "Concat", Attrs{"axis": axis}, in)
		checkGrad(t, k, in, 0, 1e-2, 1e-3)
		checkGrad(t, k, in, 1, 1e-2, 1e-3)
	}
}
