package model

// Reductions: ReduceMean (what GlobalAveragePool becomes in some exports).

func init() {
	register("ReduceMean", newReduceMean)
}

// reduceMeanKernel computes Y = mean of X over axes: the axes attribute
// before opset 18, the optional int64 input 2 from opset 18. Without axes it
// reduces every dimension, unless noop_with_empty_axes is set, when it is the
// identity. keepdims (default 1) keeps the reduced dimensions with size 1.
// Backward: dX = dY / count broadcast back over the reduced dimensions,
// count being the number of elements averaged.
type reduceMeanKernel struct {
	n        *nodeInfo
	axes     []int // attribute axes; nil when absent
	keepdims bool
	noop     bool // noop_with_empty_axes
}

func newReduceMean(n *nodeInfo) (kernel, error) {
	if n.Opset >= 18 && n.Attrs.Has("axes") {
		return nil, n.errorf("axes is an input from opset 18, not an attribute")
	}
	return &reduceMeanKernel{
		n:        n,
		axes:     n.Attrs.Ints("axes", nil),
		keepdims: n.Attrs.Int("keepdims", 1) != 0,
		noop:     n.Attrs.Int("noop_with_empty_axes", 0) != 0,
	}, nil
}

// plan returns the shape of the result with reduced dimensions kept as 1,
// the output shape, the number of elements averaged per output, and whether
// the op is the identity.
func (k *reduceMeanKernel) plan(in []*Tensor) (kept, shape []int, count int, identity bool, err error) {
	x := in[0]
	axes := k.axes
	if len(in) > 1 && in[1] != nil {
		if in[1].DType != Int64 {
			return nil, nil, 0, false, k.n.errorf("axes input is %s, want int64", in[1])
		}
		axes = make([]int, len(in[1].Ints))
		for i, a := range in[1].Ints {
			axes[i] = int(a)
		}
	}
	r := x.Rank()
	reduce := make([]bool, r)
	if len(axes) == 0 {
		if k.noop {
			return x.Shape, x.Shape, 1, true, nil
		}
		for i := range reduce {
			reduce[i] = true
		}
	}
	for _, a := range axes {
		if a < -r || a >= r {
			return nil, nil, 0, false, k.n.errorf("axis %d out of range for input shape %v", a, x.Shape)
		}
		if a < 0 {
			a += r
		}
		if reduce[a] {
			return nil, nil, 0, false, k.n.errorf("axis %d repeated in axes %v", a, axes)
		}
		reduce[a] = true
	}
	kept = make([]int, r)
	shape = make([]int, 0, r)
	count = 1
	for i, d := range x.Shape {
		kept[i] = d
		if reduce[i] {
			kept[i] = 1
			count *= d
			if !k.keepdims {
				continue
			}
		}
		shape = append(shape, kept[i])
	}
	return kept, shape, count, false, nil
}

func (k *reduceMeanKernel) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	x, err := floatInput(k.n, in)
	if err != nil {
		return nil, err
	}
	kept, shape, count, identity, err := k.plan(in)
	if err != nil {
		return nil, err
	}
	if identity {
		y := s.TensorNoZero(x.Shape...)
		copy(y.Data, x.Data)
		return []*Tensor{y}, nil
	}
	y := sumToShape(s, x, kept)
	scale := 1 / float32(count)
	for i := range y.Data {
		y.Data[i] *= scale
	}
	y.Shape = shape
	return []*Tensor{y}, nil
}

func (k *reduceMeanKernel) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	x := in[0]
	kept, _, count, identity, err := k.plan(in)
	if err != nil {
		return nil, err
	}
	grads := make([]*Tensor, len(in))
	if !need[0] {
		return grads, nil
	}
	g := gout[0]
	if g == nil {
		grads[0] = s.Tensor(x.Shape...)
		return grads, nil
	}
	if identity {
		gx := s.TensorNoZero(x.Shape...)
		copy(gx.Data, g.Data)
		grads[0] = gx
		return grads, nil
	}
	gk := &Tensor{Shape: kept, Data: g.Data}
	grads[0] = expandTo(s, gk, x.Shape, 1/float32(count))
	return grads, nil
}
