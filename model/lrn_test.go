package model

import (
	"math"
	"math/rand"
	"strings"
	"testing"
)

func TestLRNForward(t *testing.T) {
	x := FromData([]float32{1, 2, 3}, 1, 3, 1, 1)
	for _, c := range []struct {
		name  string
		attrs Attrs
		want  []float32
	}{
		// Channel windows {0,1}, {0,1,2}, {1,2}: d = 2 + 0.1*(5, 14, 13).
		{"size3", Attrs{"size": int64(3), "alpha": float32(0.3), "beta": float32(0.75), "bias": float32(2)}, []float32{0.5029734, 0.7987683, 1.225281}},
		// Even size: windows reach one channel further up, {0,1}, {1,2}, {2}.
		{"size2", Attrs{"size": int64(2), "alpha": float32(0.3), "beta": float32(0.75), "bias": float32(2)}, []float32{0.4682745, 0.7138093, 1.21154}},
		// Windows {0,1,2}, {0..2}, {1,2}; general beta.
		{"size4", Attrs{"size": int64(4), "alpha": float32(0.2), "beta": float32(0.6), "bias": float32(1.5)}, []float32{0.6230837, 1.246167, 1.895214}},
		// Defaults alpha 1e-4, beta 0.75, bias 1.
		{"defaults", Attrs{"size": int64(3)}, []float32{
			float32(1 / math.Pow(1+1e-4/3*5, 0.75)), float32(2 / math.Pow(1+1e-4/3*14, 0.75)), float32(3 / math.Pow(1+1e-4/3*13, 0.75))}},
	} {
		t.Run(c.name, func(t *testing.T) {
			assertClose(t, runKernel(t, newKernel(t, "LRN", c.attrs, []*Tensor{x}), x), c.want, 1e-6)
		})
	}
}

// lrnReference is the ONNX formula evaluated directly in float64.
func lrnReference(x *Tensor, size int, alpha, beta, bias float64) []float32 {
	n, c, inner := x.Shape[0], x.Shape[1], NumElements(x.Shape[2:])
	y := make([]float32, len(x.Data))
	for b := range n {
		for ch := range c {
			for i := range inner {
				var sq float64
				for j := ch - (size-1)/2; j <= ch+size/2; j++ {
					if j >= 0 && j < c {
						v := float64(x.Data[(b*c+j)*inner+i])
						sq += v * v
					}
				}
				o := (b*c+ch)*inner + i
				y[o] = float32(float64(x.Data[o]) * math.Pow(bias+alpha/float64(size)*sq, -beta))
			}
		}
	}
	return y
}

func TestLRNMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	// The second shape is large enough to be split across goroutines.
	for _, shape := range [][]int{{2, 7, 3, 5}, {1, 32, 32, 32}} {
		x := randTensor(r, shape...)
		attrs := Attrs{"size": int64(5), "alpha": float32(0.5), "beta": float32(0.75), "bias": float32(1)}
		y := runKernel(t, newKernel(t, "LRN", attrs, []*Tensor{x}), x)
		assertClose(t, y, lrnReference(x, 5, 0.5, 0.75, 1), 1e-5)
	}
}

func TestLRNGrad(t *testing.T) {
	r := rand.New(rand.NewSource(6))
	// A large alpha makes the cross-channel term of the gradient matter.
	for _, c := range []struct {
		size       int64
		beta, bias float32
		shape      []int
	}{
		{1, 0.75, 1, []int{1, 3, 2, 2}},
		{2, 0.75, 1, []int{2, 4, 2, 3}},
		{3, 0.5, 2, []int{1, 5, 3, 2}},
		{4, 1, 1, []int{1, 6, 2, 2}},
		{5, 0.6, 1.5, []int{2, 7, 3}},
		{5, 0.75, 1, []int{1, 3, 2, 2}}, // window wider than the channels
	} {
		x := randTensor(r, c.shape...)
		attrs := Attrs{"size": c.size, "alpha": float32(2), "beta": c.beta, "bias": c.bias}
		checkGrad(t, newKernel(t, "LRN", attrs, []*Tensor{x}), []*Tensor{x}, 0, 1e-3, 2e-3)
	}
}

// lrnVJPReference accumulates g[c] * dy[c]/dx[j] over every channel c and
// every j in its window, in float64.
func lrnVJPReference(x, g *Tensor, size int, alpha, beta, bias float64) []float32 {
	n, c, inner := x.Shape[0], x.Shape[1], NumElements(x.Shape[2:])
	gx := make([]float64, len(x.Data))
	at := func(b, ch, i int) int { return (b*c+ch)*inner + i }
	for b := range n {
		for i := range inner {
			for ch := range c {
				j0, j1 := max(0, ch-(size-1)/2), min(c-1, ch+size/2)
				var sq float64
				for j := j0; j <= j1; j++ {
					sq += float64(x.Data[at(b, j, i)]) * float64(x.Data[at(b, j, i)])
				}
				d := bias + alpha/float64(size)*sq
				o := at(b, ch, i)
				gx[o] += float64(g.Data[o]) * math.Pow(d, -beta)
				for j := j0; j <= j1; j++ {
					gx[at(b, j, i)] -= float64(g.Data[o]) * float64(x.Data[o]) * beta * math.Pow(d, -beta-1) * alpha / float64(size) * 2 * float64(x.Data[at(b, j, i)])
				}
			}
		}
	}
	out := make([]float32, len(gx))
	for i, v := range gx {
		out[i] = float32(v)
	}
	return out
}

// The backward pass of a tensor large enough to be split across goroutines
// (two phases) matches the reference.
func TestLRNBackwardParallel(t *testing.T) {
	r := rand.New(rand.NewSource(8))
	x, gy := randTensor(r, 2, 24, 32, 32), randTensor(r, 2, 24, 32, 32)
	k := newKernel(t, "LRN", Attrs{"size": int64(4), "alpha": float32(2), "beta": float32(0.6)}, []*Tensor{x})
	assertClose(t, vjpOf(t, k, x, gy, Vanilla), lrnVJPReference(x, gy, 4, 2, 0.6, 1), 1e-5)
}

func TestLRNErrors(t *testing.T) {
	for _, attrs := range []Attrs{{}, {"size": int64(0)}, {"size": int64(-3)}} {
		if _, err := buildOpN("LRN", attrs, 1, 1); err == nil || !strings.Contains(err.Error(), "size") {
			t.Errorf("attrs %v: error %v, want one about size", attrs, err)
		}
	}
	k := newKernel(t, "LRN", Attrs{"size": int64(3)}, nil)
	if _, err := k.forward(newScratch(), []*Tensor{NewTensor(5)}); err == nil {
		t.Errorf("1-d input: no error")
	}
}
