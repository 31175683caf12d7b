package model

import (
	"math/rand"
	"testing"
)

func TestReduceMean(t *testing.T) {
	// X [2,3,2] = 1..12.
	x := NewTensor(2, 3, 2)
	for i := range x.Data {
		x.Data[i] = float32(i + 1)
	}
	axes := func(a ...int64) *Tensor { return FromInts(a, len(a)) }
	cases := []struct {
		name  string
		opset int
		attrs Attrs
		axes  *Tensor // opset 18 input
		shape []int
		want  []float32
	}{
		{"axis1 keepdims", 13, Attrs{"axes": []int64{1}}, nil, []int{2, 1, 2}, []float32{3, 4, 9, 10}},
		{"axis1 dropped", 13, Attrs{"axes": []int64{1}, "keepdims": int64(0)}, nil, []int{2, 2}, []float32{3, 4, 9, 10}},
		{"negative axes", 13, Attrs{"axes": []int64{-1, 0}}, nil, []int{1, 3, 1}, []float32{4.5, 6.5, 8.5}},
		{"all axes", 13, nil, nil, []int{1, 1, 1}, []float32{6.5}},
		{"all axes dropped", 11, Attrs{"keepdims": int64(0)}, nil, []int{}, []float32{6.5}},
		{"opset18 input", 18, nil, axes(1), []int{2, 1, 2}, []float32{3, 4, 9, 10}},
		{"opset18 no axes", 18, nil, nil, []int{1, 1, 1}, []float32{6.5}},
		{"opset18 empty axes", 18, nil, axes(), []int{1, 1, 1}, []float32{6.5}},
		{"opset18 noop", 18, Attrs{"noop_with_empty_axes": int64(1)}, axes(), []int{2, 3, 2}, x.Data},
		{"opset18 noop absent", 18, Attrs{"noop_with_empty_axes": int64(1)}, nil, []int{2, 3, 2}, x.Data},
		{"opset18 noop ignored with axes", 18, Attrs{"noop_with_empty_axes": int64(1), "keepdims": int64(0)}, axes(0, 2), []int{3}, []float32{4.5, 6.5, 8.5}},
	}
	r := rand.New(rand.NewSource(10))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := []*Tensor{x}
			if c.opset >= 18 {
				in = append(in, c.axes)
			}
			k := ewKernel(t, "ReduceMean", c.opset, c.attrs, len(in))
			got := runKernel(t, k, in...)
			if !SameShape(got.Shape, c.shape) {
				t.Errorf("shape %v, want %v", got.Shape, c.shape)
			}
			assertClose(t, got, c.want, 1e-6)
			xr := randTensor(r, 2, 3, 2)
			checkGrad(t, k, append([]*Tensor{xr}, in[1:]...), 0, 1e-2, 1e-3)
		})
	}

	// Global average pooling of NCHW by ReduceMean over axes [2, 3].
	k := ewKernel(t, "ReduceMean", 13, Attrs{"axes": []int64{2, 3}}, 1)
	img := NewTensor(1, 2, 2, 2)
	copy(img.Data, []float32{1, 2, 3, 4, 10, 20, 30, 40})
	assertClose(t, runKernel(t, k, img), []float32{2.5, 25}, 1e-6)
	g := ewBackward(t, k, []*Tensor{img}, ewVec([]int{1, 2, 1, 1}, 4, -8), Vanilla, 0)
	assertClose(t, g[0], []float32{1, 1, 1, 1, -2, -2, -2, -2}, 1e-6)
	checkGrad(t, k, []*Tensor{randTensor(r, 2, 3, 4, 5)}, 0, 1e-2, 1e-3)

	for _, bad := range []Attrs{{"axes": []int64{3}}, {"axes": []int64{1, -2}}} {
		k := ewKernel(t, "ReduceMean", 13, bad, 1)
		if _, err := k.forward(newScratch(), []*Tensor{x}); err == nil {
			t.Errorf("ReduceMean accepted %v for a 3-D input", bad)
		}
	}
}
