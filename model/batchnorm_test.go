package model

import (
	"math"
	"math/rand"
	"strings"
	"testing"
)

// bnParams returns scale, B, mean, var for two channels with epsilon 1:
// a = scale/sqrt(var+1) = (1, 0.5) and b = B - mean*a = (0, -2.5).
func bnParams() []*Tensor {
	return []*Tensor{
		FromData([]float32{2, 0.5}, 2),
		FromData([]float32{1, -1}, 2),
		FromData([]float32{1, 3}, 2),
		FromData([]float32{3, 0}, 2),
	}
}

func TestBatchNormForward(t *testing.T) {
	x := FromData([]float32{1, 2, 3, 4, 5, 6, 7, 8}, 2, 2, 1, 2)
	in := append([]*Tensor{x}, bnParams()...)
	want := []float32{1, 2, -1, -0.5, 5, 6, 1, 1.5}
	attrs := Attrs{"epsilon": float32(1)}
	// Folded at load time, and computed per run from non-constant parameters.
	assertClose(t, runKernel(t, newKernel(t, "BatchNormalization", attrs, in, 1, 2, 3, 4), in...), want, 1e-6)
	assertClose(t, runKernel(t, newKernel(t, "BatchNormalization", attrs, in), in...), want, 1e-6)

	// Rank 2 (N x C) input.
	x2 := FromData([]float32{1, 3, 2, 5}, 2, 2)
	assertClose(t, runKernel(t, newKernel(t, "BatchNormalization", attrs, in, 1, 2, 3, 4), append([]*Tensor{x2}, in[1:]...)...), []float32{1, -1, 2, 0}, 1e-6)

	// Default epsilon 1e-5.
	k := newKernel(t, "BatchNormalization", nil, in, 1, 2, 3, 4)
	y := runKernel(t, k, in...)
	if a := 2 / math.Sqrt(3+1e-5); math.Abs(float64(y.Data[0])-1) > 1e-6 /* x = mean: the bias */ || math.Abs(float64(y.Data[1])-(a*(2-1)+1)) > 1e-6 {
		t.Errorf("epsilon 1e-5: got %v", y.Data[:2])
	}
}

// Old opsets' spatial=0 gives each element of C x D1 x ... its own parameters.
func TestBatchNormNonSpatial(t *testing.T) {
	x := FromData([]float32{1, 2, 3, 4, 5, 6, 7, 8}, 2, 2, 2)
	p := func(v ...float32) *Tensor { return FromData(v, 2, 2) }
	in := []*Tensor{x, p(1, 2, 3, 4), p(0, 1, 0, 1), p(1, 1, 2, 2), p(1, 1, 1, 1)}
	attrs := Attrs{"spatial": int64(0), "epsilon": float32(0)}
	want := []float32{0, 3, 3, 9, 4, 11, 15, 25} // scale*(x-mean) + B
	for _, consts := range [][]int{{1, 2, 3, 4}, nil} {
		k := newKernel(t, "BatchNormalization", attrs, in, consts...)
		assertClose(t, runKernel(t, k, in...), want, 1e-6)
	}
}

func TestBatchNormExtraOutputs(t *testing.T) {
	x := FromData([]float32{1, 2, 3, 4}, 1, 2, 1, 2)
	in := append([]*Tensor{x}, bnParams()...)
	k, err := buildOpN("BatchNormalization", Attrs{"epsilon": float32(1)}, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := k.forward(newScratch(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 3 {
		t.Fatalf("%d outputs, want 3", len(outs))
	}
	assertClose(t, outs[1], []float32{1, 3}, 0)
	assertClose(t, outs[2], []float32{3, 0}, 0)
}

func TestBatchNormBackwardValues(t *testing.T) {
	x := FromData([]float32{1, 2, 3, 4}, 1, 2, 1, 2)
	in := append([]*Tensor{x}, bnParams()...)
	k := newKernel(t, "BatchNormalization", Attrs{"epsilon": float32(1)}, in, 1, 2, 3, 4)
	s := newScratch()
	outs, err := k.forward(s, in)
	if err != nil {
		t.Fatal(err)
	}
	gy := FromData([]float32{1, -2, 4, 6}, 1, 2, 1, 2)
	for _, m := range []Mode{Vanilla, Guided, Deconvnet} {
		g, err := k.backward(s, in, outs, []*Tensor{gy}, []bool{true, false, false, false, false}, m)
		if err != nil {
			t.Fatal(err)
		}
		assertClose(t, g[0], []float32{1, -2, 2, 3}, 1e-6)
		for i := 1; i < 5; i++ {
			if g[i] != nil {
				t.Errorf("gradient for unneeded input %d computed", i)
			}
		}
	}
}

func TestBatchNormGrad(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	for _, spatial := range []int64{1, 0} {
		x := randTensor(r, 2, 3, 2, 2)
		pshape := []int{3}
		if spatial == 0 {
			pshape = []int{3, 2, 2}
		}
		v := randTensor(r, pshape...)
		for i := range v.Data {
			v.Data[i] = v.Data[i]*0.4 + 0.8 // variances in [0.4, 1.2)
		}
		in := []*Tensor{x, randTensor(r, pshape...), randTensor(r, pshape...), randTensor(r, pshape...), v}
		attrs := Attrs{"spatial": spatial, "epsilon": float32(0.01)}
		checkGrad(t, newKernel(t, "BatchNormalization", attrs, in, 1, 2, 3, 4), in, 0, 1e-2, 1e-3)
		// Non-constant parameters: gradients for every input.
		k := newKernel(t, "BatchNormalization", attrs, in)
		for wrt := range in {
			checkGrad(t, k, in, wrt, 1e-3, 5e-3)
		}
	}
}

// A tensor large enough to be split across goroutines matches the formula.
func TestBatchNormParallel(t *testing.T) {
	r := rand.New(rand.NewSource(10))
	const c = 16
	x := randTensor(r, 2, c, 32, 32)
	in := []*Tensor{x, randTensor(r, c), randTensor(r, c), randTensor(r, c), randTensor(r, c)}
	for i := range in[4].Data {
		in[4].Data[i] += 1.5
	}
	k := newKernel(t, "BatchNormalization", nil, in, 1, 2, 3, 4)
	y := runKernel(t, k, in...)
	gy := randTensor(r, x.Shape...)
	s := newScratch()
	g, err := k.backward(s, in, []*Tensor{y}, []*Tensor{gy}, []bool{true, false, false, false, false}, Vanilla)
	if err != nil {
		t.Fatal(err)
	}
	want, wantG := make([]float32, len(x.Data)), make([]float32, len(x.Data))
	for i := range x.Data {
		ch := i / (32 * 32) % c
		a := float64(in[1].Data[ch]) / math.Sqrt(float64(in[4].Data[ch])+1e-5)
		want[i] = float32(a*(float64(x.Data[i])-float64(in[3].Data[ch])) + float64(in[2].Data[ch]))
		wantG[i] = float32(a * float64(gy.Data[i]))
	}
	assertClose(t, y, want, 1e-5)
	assertClose(t, g[0], wantG, 1e-5)
}

func TestBatchNormErrors(t *testing.T) {
	if _, err := buildOpN("BatchNormalization", Attrs{"training_mode": int64(1)}, 5, 3); err == nil || !strings.Contains(err.Error(), "training_mode") {
		t.Errorf("training_mode=1: error %v", err)
	}
	if _, err := buildOpN("BatchNormalization", nil, 3, 1); err == nil || !strings.Contains(err.Error(), "5") {
		t.Errorf("3 inputs: error %v", err)
	}
	if _, err := buildOpN("BatchNormalization", Attrs{"training_mode": int64(0)}, 5, 1); err != nil {
		t.Errorf("training_mode=0: %v", err)
	}
	// Parameters of the wrong length, constant or not.
	x := NewTensor(1, 3, 2, 2)
	in := append([]*Tensor{x}, bnParams()...)
	for _, consts := range [][]int{{1, 2, 3, 4}, nil} {
		k := newKernel(t, "BatchNormalization", nil, in, consts...)
		if _, err := k.forward(newScratch(), in); err == nil {
			t.Errorf("3 channels, 2 parameters (consts %v): no error", consts)
		}
	}
	bad := bnParams()
	bad[2] = FromData([]float32{1, 2, 3}, 3)
	n := &nodeInfo{Name: "bn", Op: "BatchNormalization", Attrs: Attrs{}, Inputs: 5, Outputs: 1, Const: append([]*Tensor{nil}, bad...)}
	if _, err := registry["BatchNormalization"](n); err == nil || !strings.Contains(err.Error(), "(mean)") {
		t.Errorf("mismatched constant parameters: error %v", err)
	}
	k := newKernel(t, "BatchNormalization", nil, in, 1, 2, 3, 4)
	if _, err := k.forward(newScratch(), append([]*Tensor{NewTensor(2)}, in[1:]...)); err == nil {
		t.Errorf("1-d input: no error")
	}
}
