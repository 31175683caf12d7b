package model

import (
	"math"
	"math/rand"
	"testing"
)

// Shared helpers for op tests: build a kernel from the registry, run it, and
// check its backward pass against central finite differences in float64.

// newKernel builds op with attrs for a node with the given inputs (constant
// inputs are passed as Const so constructors that fold them see them).
func newKernel(t testing.TB, op string, attrs Attrs, in []*Tensor, consts ...int) kernel {
	t.Helper()
	f, ok := registry[op]
	if !ok {
		t.Fatalf("op %s not registered", op)
	}
	if attrs == nil {
		attrs = Attrs{}
	}
	n := &nodeInfo{Name: "test_" + op, Op: op, Opset: 13, Attrs: attrs, Inputs: len(in), Outputs: 1, Const: make([]*Tensor, len(in))}
	for _, c := range consts {
		n.Const[c] = in[c]
	}
	k, err := f(n)
	if err != nil {
		t.Fatalf("build %s: %v", op, err)
	}
	return k
}

// runKernel runs the forward pass and returns the first output.
func runKernel(t testing.TB, k kernel, in ...*Tensor) *Tensor {
	t.Helper()
	out, err := k.forward(newScratch(), in)
	if err != nil {
		t.Fatalf("forward: %v", err)
	}
	return out[0]
}

// randTensor returns a tensor with values uniform in [-1, 1).
func randTensor(r *rand.Rand, shape ...int) *Tensor {
	x := NewTensor(shape...)
	for i := range x.Data {
		x.Data[i] = float32(r.Float64()*2 - 1)
	}
	return x
}

// checkGrad compares the vanilla backward pass of k for input wrt against
// central finite differences of the scalar sum(out * w) for a random w.
// eps is the step; tol the allowed max error relative to the gradient's
// largest magnitude. Inputs should avoid kinks (|x| not tiny for ReLU etc.).
func checkGrad(t testing.TB, k kernel, in []*Tensor, wrt int, eps, tol float64) {
	t.Helper()
	r := rand.New(rand.NewSource(7))
	s := newScratch()
	outs, err := k.forward(s, in)
	if err != nil {
		t.Fatalf("forward: %v", err)
	}
	w := randTensor(r, outs[0].Shape...)
	objective := func() float64 {
		o, err := k.forward(newScratch(), in)
		if err != nil {
			t.Fatalf("forward: %v", err)
		}
		var sum float64
		for i, v := range o[0].Data {
			sum += float64(v) * float64(w.Data[i])
		}
		return sum
	}
	gout := make([]*Tensor, len(outs))
	gout[0] = w
	need := make([]bool, len(in))
	need[wrt] = true
	g, err := k.backward(s, in, outs, gout, need, Vanilla)
	if err != nil {
		t.Fatalf("backward: %v", err)
	}
	if g[wrt] == nil || !SameShape(g[wrt].Shape, in[wrt].Shape) {
		t.Fatalf("gradient for input %d: got %v, want shape %v", wrt, g[wrt], in[wrt].Shape)
	}
	x := in[wrt].Data
	var maxAbs, maxErr float64
	for i := range x {
		old := x[i]
		x[i] = old + float32(eps)
		plus := objective()
		x[i] = old - float32(eps)
		minus := objective()
		x[i] = old
		num := (plus - minus) / (2 * eps)
		maxAbs = math.Max(maxAbs, math.Abs(num))
		maxErr = math.Max(maxErr, math.Abs(num-float64(g[wrt].Data[i])))
	}
	if maxErr > tol*math.Max(maxAbs, 1e-3) {
		t.Errorf("input %d: max |analytic - numeric| = %.3g, max |numeric| = %.3g (tol %.g relative)", wrt, maxErr, maxAbs, tol)
	}
}

// assertClose fails when got and want differ by more than tol relative to
// want's largest magnitude (or absolutely when that is below 1).
func assertClose(t testing.TB, got *Tensor, want []float32, tol float64) {
	t.Helper()
	if len(got.Data) != len(want) {
		t.Fatalf("got %d values, want %d", len(got.Data), len(want))
	}
	var maxAbs, maxErr float64
	for i := range want {
		if math.IsNaN(float64(got.Data[i])) != math.IsNaN(float64(want[i])) {
			t.Fatalf("value %d: got %v, want %v", i, got.Data[i], want[i])
		}
		maxAbs = math.Max(maxAbs, math.Abs(float64(want[i])))
		maxErr = math.Max(maxErr, math.Abs(float64(got.Data[i])-float64(want[i])))
	}
	if maxErr > tol*math.Max(maxAbs, 1) {
		t.Errorf("max error %.3g (max |want| %.3g)\n got %v\nwant %v", maxErr, maxAbs, got.Data, want)
	}
}
