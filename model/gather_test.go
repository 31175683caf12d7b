package model

import (
	"math/rand"
	"testing"
)

func TestGather(t *testing.T) {
	// ONNX Gather examples.
	data := FromData([]float32{1.0, 1.2, 2.3, 3.4, 4.5, 5.7}, 3, 2)
	idx := FromInts([]int64{0, 1, 1, 2}, 2, 2)
	k := newKernel(t, "Gather", Attrs{"axis": int64(0)}, []*Tensor{data, idx})
	y := runKernel(t, k, data, idx)
	shapeIs(t, y, Float32, 2, 2, 2)
	assertClose(t, y, []float32{1.0, 1.2, 2.3, 3.4, 2.3, 3.4, 4.5, 5.7}, 0)

	data3 := FromData([]float32{1.0, 1.2, 1.9, 2.3, 3.4, 3.9, 4.5, 5.7, 5.9}, 3, 3)
	idx2 := FromInts([]int64{0, 2}, 1, 2)
	for _, axis := range []int64{1, -1} {
		y = runKernel(t, newKernel(t, "Gather", Attrs{"axis": axis}, []*Tensor{data3, idx2}), data3, idx2)
		shapeIs(t, y, Float32, 3, 1, 2)
		assertClose(t, y, []float32{1.0, 1.9, 2.3, 3.9, 4.5, 5.9}, 0)
	}

	// scalar index drops the axis; negative indices count from the end
	y = runKernel(t, k, data, FromInts([]int64{-1}))
	shapeIs(t, y, Float32, 2)
	assertClose(t, y, []float32{4.5, 5.7}, 0)
	y = runKernel(t, k, data, i64s(-3, 2, 0))
	shapeIs(t, y, Float32, 3, 2)
	assertClose(t, y, []float32{1.0, 1.2, 4.5, 5.7, 1.0, 1.2}, 0)

	// int64 data: Shape -> Gather(scalar) picks one dimension
	shape := i64s(1, 3, 224, 224)
	y = runKernel(t, k, shape, FromInts([]int64{0}))
	shapeIs(t, y, Int64)
	assertInts(t, y, 1)
	y = runKernel(t, k, shape, i64s(2, 3))
	assertInts(t, y, 224, 224)

	shapeForwardErr(t, k, data, i64s(3))
	shapeForwardErr(t, k, data, i64s(-4))
	shapeForwardErr(t, k, data, FromData([]float32{0}, 1))
	shapeForwardErr(t, newKernel(t, "Gather", Attrs{"axis": int64(2)}, []*Tensor{data, idx}), data, idx)

	// Backward scatter-adds: repeated indices accumulate, unpicked rows get 0.
	gy := FromData([]float32{1, 2, 3, 4, 5, 6}, 3, 2)
	pick := i64s(2, 0, 2)
	out := runKernel(t, k, data, pick)
	g, err := k.backward(newScratch(), []*Tensor{data, pick}, []*Tensor{out}, []*Tensor{gy}, []bool{true, false}, Vanilla)
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, g[0], []float32{3, 4, 0, 0, 6, 8}, 0)

	r := rand.New(rand.NewSource(12))
	for _, c := range []struct {
		axis int64
		idx  *Tensor
	}{
		{0, FromInts([]int64{1, 0, 1, -1}, 2, 2)},
		{1, FromInts([]int64{2})},
		{-1, i64s(3, 0, 3)},
	} {
		x := randTensor(r, 2, 3, 4)
		in := []*Tensor{x, c.idx}
		checkGrad(t, newKernel(t, "Gather", Attrs{"axis": c.axis}, in, 1), in, 0, 1e-2, 1e-3)
	}
}
