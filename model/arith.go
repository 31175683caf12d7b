package model

import "fmt"

// Elementwise arithmetic with numpy broadcasting: Add, Sub, Mul, Div and the
// variadic Sum. Float32 tensors get forward and backward; int64 tensors
// (shape arithmetic in exported graphs) forward only.

func init() {
	register("Add", newBinaryKernel(opAdd))
	register("Sub", newBinaryKernel(opSub))
	register("Mul", newBinaryKernel(opMul))
	register("Div", newBinaryKernel(opDiv))
	register("Sum", newSumKernel)
}

// binOp is an elementwise binary operation.
type binOp uint8

const (
	opAdd binOp = iota
	opSub
	opMul
	opDiv
)

// number is the element type of tensors the arithmetic loops handle.
type number interface{ ~float32 | ~int64 }

// binaryKernel computes C = A op B elementwise with broadcasting, op one of
// +, -, *, / (integer division truncates toward zero). Gradients:
//
//	Add: dA = G, dB = G            Sub: dA = G, dB = -G
//	Mul: dA = G*B, dB = G*A        Div: dA = G/B, dB = -G*C/B
//
// each summed over the dimensions along which that input was broadcast.
//
// Before opset 7, B is broadcast to A only with broadcast=1, aligned at the
// attribute axis (default: trailing dimensions).
type binaryKernel struct {
	n      *nodeInfo
	op     binOp
	legacy bool // opset < 7
	bcast  bool // legacy broadcast attribute
	axis   int  // legacy axis attribute, -1 when absent
}

func newBinaryKernel(op binOp) opFactory {
	return func(n *nodeInfo) (kernel, error) {
		if n.Inputs != 2 {
			return nil, n.errorf("want 2 inputs, got %d", n.Inputs)
		}
		k := &binaryKernel{n: n, op: op, axis: -1}
		if n.Opset > 0 && n.Opset < 7 {
			k.legacy = true
			k.bcast = n.Attrs.Int("broadcast", 0) != 0
			if n.Attrs.Has("axis") {
				k.axis = n.Attrs.Int("axis", 0)
			}
		}
		return k, nil
	}
}

// legacyShape returns the shape B takes for numpy broadcasting under the
// pre-opset-7 rules: B's dimensions placed at k.axis of A (or at its end).
func (k *binaryKernel) legacyShape(a, b []int) ([]int, error) {
	if !k.bcast {
		if !SameShape(a, b) {
			return nil, fmt.Errorf("shapes [%s] and [%s] differ and broadcast is not set", ShapeString(a), ShapeString(b))
		}
		return b, nil
	}
	if NumElements(b) == 1 {
		return []int{}, nil
	}
	axis := k.axis
	if axis < 0 {
		axis = len(a) - len(b)
	}
	if axis < 0 || axis+len(b) > len(a) {
		return nil, fmt.Errorf("cannot broadcast [%s] into [%s] at axis %d", ShapeString(b), ShapeString(a), k.axis)
	}
	shape := make([]int, len(a))
	for i := range shape {
		shape[i] = 1
	}
	copy(shape[axis:], b)
	if !canBroadcastTo(shape, a) {
		return nil, fmt.Errorf("cannot broadcast [%s] into [%s] at axis %d", ShapeString(b), ShapeString(a), axis)
	}
	return shape, nil
}

// operands returns A and B (B reshaped by the legacy rules) and the result
// shape.
func (k *binaryKernel) operands(in []*Tensor) (a, b *Tensor, shape []int, err error) {
	if len(in) != 2 || in[0] == nil || in[1] == nil {
		return nil, nil, nil, k.n.errorf("want 2 inputs")
	}
	a, b = in[0], in[1]
	if a.DType != b.DType {
		return nil, nil, nil, k.n.errorf("input types differ: %s and %s", a, b)
	}
	if k.legacy {
		bs, err := k.legacyShape(a.Shape, b.Shape)
		if err != nil {
			return nil, nil, nil, k.n.errorf("%v", err)
		}
		b = &Tensor{Shape: bs, DType: b.DType, Data: b.Data, Ints: b.Ints}
	}
	if shape, err = broadcastShape(a.Shape, b.Shape); err != nil {
		return nil, nil, nil, k.n.errorf("%v", err)
	}
	return a, b, shape, nil
}

func (k *binaryKernel) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	a, b, shape, err := k.operands(in)
	if err != nil {
		return nil, err
	}
	p := newBcastPlan(shape, a.Shape, b.Shape)
	if a.DType == Int64 {
		if k.op == opDiv {
			for _, v := range b.Ints {
				if v == 0 {
					return nil, k.n.errorf("integer division by zero")
				}
			}
		}
		checkAlloc(p.total)
		out := &Tensor{Shape: shape, DType: Int64, Ints: make([]int64, p.total)}
		applyBinary(p, k.op, out.Ints, a.Ints, b.Ints)
		return []*Tensor{out}, nil
	}
	out := s.TensorNoZero(shape...)
	applyBinary(p, k.op, out.Data, a.Data, b.Data)
	return []*Tensor{out}, nil
}

func (k *binaryKernel) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	a, b, shape, err := k.operands(in)
	if err != nil {
		return nil, err
	}
	if a.DType != Float32 {
		return nil, k.n.errorf("no gradient for %s inputs", a.DType)
	}
	g := gout[0]
	if g == nil {
		g = s.Tensor(shape...)
	}
	grads := make([]*Tensor, 2)
	// grad returns sum-to-shape(G op X) for operand shape, X broadcast.
	grad := func(op binOp, x *Tensor, shape []int) *Tensor {
		t := s.TensorNoZero(g.Shape...)
		applyBinary(newBcastPlan(g.Shape, g.Shape, x.Shape), op, t.Data, g.Data, x.Data)
		if NumElements(shape) == len(t.Data) {
			t.Shape = append([]int(nil), shape...) // not broadcast: nothing to sum
			return t
		}
		return sumToShape(s, t, shape)
	}
	if need[0] {
		switch k.op {
		case opAdd, opSub:
			grads[0] = sumToShape(s, g, a.Shape)
		case opMul:
			grads[0] = grad(opMul, b, a.Shape)
		case opDiv:
			grads[0] = grad(opDiv, b, a.Shape)
		}
	}
	if len(need) > 1 && need[1] {
		var gb *Tensor
		switch k.op {
		case opAdd:
			gb = sumToShape(s, g, b.Shape)
		case opSub:
			gb = sumToShape(s, g, b.Shape)
			negate(gb.Data)
		case opMul:
			gb = grad(opMul, a, b.Shape)
		case opDiv:
			// dB = -G*A/B² = -(G*C)/B, with C = A/B the forward output.
			t := s.TensorNoZero(g.Shape...)
			applyBinary(newBcastPlan(g.Shape, g.Shape, out[0].Shape), opMul, t.Data, g.Data, out[0].Data)
			applyBinary(newBcastPlan(t.Shape, t.Shape, b.Shape), opDiv, t.Data, t.Data, b.Data)
			gb = sumToShape(s, t, b.Shape)
			negate(gb.Data)
		}
		gb.Shape = in[1].Shape // undo a legacy reshape (same elements)
		grads[1] = gb
	}
	return grads, nil
}

func negate(x []float32) {
	for i := range x {
		x[i] = -x[i]
	}
}

// applyBinary computes out = a op b over plan p (out laid out as p's
// iteration space, a and b its operands), in parallel for large outputs.
// out may alias a contiguous operand.
func applyBinary[T number](p *bcastPlan, op binOp, out, a, b []T) {
	sa, sb := p.inner()
	forElements(p.total, func(lo, hi int) {
		p.walk(lo, hi, func(o, ia, ib, n int) {
			binaryRun(op, out[o:o+n], a[ia:], b[ib:], sa, sb)
		})
	})
}

// binaryRun computes one run out[i] = a[i*sa] op b[i*sb] with steps sa, sb
// in {0, 1}.
func binaryRun[T number](op binOp, out, a, b []T, sa, sb int) {
	n := len(out)
	switch {
	case sa == 1 && sb == 1:
		a, b = a[:n], b[:n]
		switch op {
		case opAdd:
			for i := range out {
				out[i] = a[i] + b[i]
			}
		case opSub:
			for i := range out {
				out[i] = a[i] - b[i]
			}
		case opMul:
			for i := range out {
				out[i] = a[i] * b[i]
			}
		case opDiv:
			for i := range out {
				out[i] = a[i] / b[i]
			}
		}
	case sa == 1: // b is constant over the run
		a, c := a[:n], b[0]
		switch op {
		case opAdd:
			for i, v := range a {
				out[i] = v + c
			}
		case opSub:
			for i, v := range a {
				out[i] = v - c
			}
		case opMul:
			for i, v := range a {
				out[i] = v * c
			}
		case opDiv:
			for i, v := range a {
				out[i] = v / c
			}
		}
	case sb == 1: // a is constant over the run
		c, b := a[0], b[:n]
		switch op {
		case opAdd:
			for i, v := range b {
				out[i] = c + v
			}
		case opSub:
			for i, v := range b {
				out[i] = c - v
			}
		case opMul:
			for i, v := range b {
				out[i] = c * v
			}
		case opDiv:
			for i, v := range b {
				out[i] = c / v
			}
		}
	default:
		var c [1]T
		binaryRun(op, c[:], a, b, 1, 1)
		for i := range out {
			out[i] = c[0]
		}
	}
}

// sumKernel computes Y = X1 + X2 + ... + Xn elementwise with broadcasting;
// dXi = dY summed over the dimensions along which Xi was broadcast.
type sumKernel struct{ n *nodeInfo }

func newSumKernel(n *nodeInfo) (kernel, error) {
	if n.Inputs < 1 {
		return nil, n.errorf("want at least 1 input")
	}
	return sumKernel{n}, nil
}

func (k sumKernel) shape(in []*Tensor) ([]int, error) {
	shapes := make([][]int, len(in))
	for i, x := range in {
		if x == nil {
			return nil, k.n.errorf("input %d is missing", i)
		}
		if x.DType != Float32 {
			return nil, k.n.errorf("input %d is %s, want float32", i, x)
		}
		shapes[i] = x.Shape
	}
	shape, err := broadcastShape(shapes...)
	if err != nil {
		return nil, k.n.errorf("%v", err)
	}
	return shape, nil
}

func (k sumKernel) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	shape, err := k.shape(in)
	if err != nil {
		return nil, err
	}
	if len(in) == 1 {
		out := s.TensorNoZero(shape...)
		copy(out.Data, in[0].Data)
		return []*Tensor{out}, nil
	}
	out := s.TensorNoZero(shape...)
	applyBinary(newBcastPlan(shape, in[0].Shape, in[1].Shape), opAdd, out.Data, in[0].Data, in[1].Data)
	for _, x := range in[2:] {
		applyBinary(newBcastPlan(shape, shape, x.Shape), opAdd, out.Data, out.Data, x.Data)
	}
	return []*Tensor{out}, nil
}

func (k sumKernel) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	shape, err := k.shape(in)
	if err != nil {
		return nil, err
	}
	g := gout[0]
	if g == nil {
		g = s.Tensor(shape...)
	}
	grads := make([]*Tensor, len(in))
	for i, x := range in {
		if i < len(need) && need[i] {
			grads[i] = sumToShape(s, g, x.Shape)
		}
	}
	return grads, nil
}
