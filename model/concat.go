package model

func init() { register("Concat", newConcat) }

// concatKernel joins its inputs along axis (negative counts from the back):
// y[..., off_i + j, ...] = x_i[..., j, ...] where off_i is the summed size of
// the earlier inputs along axis. All other dimensions must agree. The
// gradient of x_i is the matching slice of g_out.
type concatKernel struct {
	n    *nodeInfo
	axis int
}

func newConcat(n *nodeInfo) (kernel, error) {
	if !n.Attrs.Has("axis") {
		return nil, n.errorf("missing axis attribute")
	}
	if n.Inputs < 1 {
		return nil, n.errorf("needs at least one input")
	}
	return &concatKernel{n: n, axis: n.Attrs.Int("axis", 0)}, nil
}

// layout checks the inputs and returns the normalized axis, the output shape,
// the number of outer blocks and each input's block length (its elements per
// outer index).
func (k *concatKernel) layout(in []*Tensor) (axis int, shape []int, outer int, block []int, err error) {
	first := in[0]
	if first == nil {
		return 0, nil, 0, nil, k.n.errorf("input 0 is missing")
	}
	r := first.Rank()
	axis, ok := shapeAxis(k.axis, r)
	if !ok {
		return 0, nil, 0, nil, k.n.errorf("axis %d out of range for inputs of rank %d", k.axis, r)
	}
	shape = append([]int(nil), first.Shape...)
	shape[axis] = 0
	block = make([]int, len(in))
	inner := NumElements(first.Shape[axis+1:])
	for i, x := range in {
		if x == nil {
			return 0, nil, 0, nil, k.n.errorf("input %d is missing", i)
		}
		if x.DType != first.DType {
			return 0, nil, 0, nil, k.n.errorf("input %d is %v but input 0 is %v", i, x, first)
		}
		if x.Rank() != r {
			return 0, nil, 0, nil, k.n.errorf("input %d has shape %s, input 0 has %s", i, ShapeString(x.Shape), ShapeString(first.Shape))
		}
		for d := range r {
			if d != axis && x.Shape[d] != first.Shape[d] {
				return 0, nil, 0, nil, k.n.errorf("input %d has shape %s, input 0 has %s (only axis %d may differ)", i, ShapeString(x.Shape), ShapeString(first.Shape), axis)
			}
		}
		shape[axis] += x.Shape[axis]
		block[i] = x.Shape[axis] * inner
	}
	return axis, shape, NumElements(first.Shape[:axis]), block, nil
}

// concatInto copies each src block by block into dst.
func concatInto[T float32 | int64](dst []T, srcs [][]T, outer int, block []int) {
	off := 0
	for o := range outer {
		for i, src := range srcs {
			b := block[i]
			off += copy(dst[off:off+b], src[o*b:(o+1)*b])
		}
	}
}

func (k *concatKernel) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	_, shape, outer, block, err := k.layout(in)
	if err != nil {
		return nil, err
	}
	y := shapeAlloc(s, in[0].DType, shape)
	if y.DType == Int64 {
		srcs := make([][]int64, len(in))
		for i, x := range in {
			srcs[i] = x.Ints
		}
		concatInto(y.Ints, srcs, outer, block)
	} else {
		srcs := make([][]float32, len(in))
		for i, x := range in {
			srcs[i] = x.Data
		}
		concatInto(y.Data, srcs, outer, block)
	}
	return []*Tensor{y}, nil
}

func (k *concatKernel) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	g := make([]*Tensor, len(in))
	if in[0] == nil || in[0].DType != Float32 {
		return g, nil
	}
	_, _, outer, block, err := k.layout(in)
	if err != nil {
		return nil, err
	}
	if gout[0] == nil {
		return zeroGrads(s, in, need), nil
	}
	off := 0 // start of input i's block within an output block
	stride := 0
	for _, b := range block {
		stride += b
	}
	for i, x := range in {
		b := block[i]
		if need[i] {
			gi := s.TensorNoZero(x.Shape...)
			for o := range outer {
				copy(gi.Data[o*b:(o+1)*b], gout[0].Data[o*stride+off:])
			}
			g[i] = gi
		}
		off += b
	}
	return g, nil
}
