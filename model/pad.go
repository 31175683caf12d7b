package model

func init() { register("Pad", newPad) }

// Pad modes.
const (
	padConstant = "constant"
	padReflect  = "reflect"
	padEdge     = "edge"
)

// padKernel pads (or, with negative pads, crops) every axis of x by
// pads = [b_0, .., b_(r-1), e_0, .., e_(r-1)]: y.shape[a] = x.shape[a]+b_a+e_a
// and, per axis, y[o] = x[src(o - b_a)] where src is the identity inside
// [0, n) and outside it
//
//	constant: the value c (attribute value before opset 11, optional
//	          constant_value input from 11)
//	edge:     x[clamp(i, 0, n-1)]
//	reflect:  x mirrored about the first and last elements, without
//	          repeating them (numpy "reflect", periodic for wide pads)
//
// Pads come from the pads attribute before opset 11 and from the int64 pads
// input from 11; opset 18 adds an optional axes input naming the padded axes.
// Backward: g_x[i] = sum of g_y[o] over the o with src(o) = i (constant: a
// crop; reflect and edge accumulate the copies); g_c = sum of g_y over the
// constant-filled positions.
type padKernel struct {
	n     *nodeInfo
	mode  string
	pads  []int   // attribute pads (opset < 11)
	value float32 // attribute value (opset < 11)
}

func newPad(n *nodeInfo) (kernel, error) {
	k := &padKernel{n: n, mode: n.Attrs.String("mode", padConstant)}
	switch k.mode {
	case padConstant, padReflect, padEdge:
	default:
		return nil, n.errorf("unsupported mode %q (want constant, reflect or edge)", k.mode)
	}
	if n.Opset < 11 {
		if !n.Attrs.Has("pads") {
			return nil, n.errorf("missing pads attribute (opset %d)", n.Opset)
		}
		k.pads = n.Attrs.Ints("pads", nil)
		k.value = n.Attrs.Float("value", 0)
	} else if n.Inputs < 2 {
		return nil, n.errorf("missing pads input (opset %d)", n.Opset)
	}
	return k, nil
}

// padPlan maps every output position to its source: src[a][o] is the input
// index along axis a for output index o, or -1 for a constant fill.
type padPlan struct {
	shape      []int // output shape
	src        [][]int
	inStrides  []int
	outStrides []int
}

// plan resolves the pads for input x and builds the per-axis index maps.
// A scalar x is treated as shape [1] with no padding.
func (k *padKernel) plan(in []*Tensor) (*padPlan, error) {
	x := in[0]
	dims := x.Shape
	r := len(dims)
	pads, err := k.fullPads(in, r)
	if err != nil {
		return nil, err
	}
	p := &padPlan{shape: make([]int, r)}
	if r == 0 {
		dims, pads = []int{1}, []int{0, 0}
		r = 1
	}
	p.src = make([][]int, r)
	outShape := make([]int, r)
	for a, n := range dims {
		b, e := pads[a], pads[a+r]
		size := n + b + e
		if size < 0 {
			return nil, k.n.errorf("pads %v crop axis %d (size %d) below zero", pads, a, n)
		}
		outShape[a] = size
		m := make([]int, size)
		for o := range m {
			i := o - b
			if i >= 0 && i < n {
				m[o] = i
				continue
			}
			switch {
			case k.mode == padConstant:
				m[o] = -1
			case n == 0:
				return nil, k.n.errorf("cannot %s-pad axis %d of size 0", k.mode, a)
			case k.mode == padEdge:
				m[o] = min(max(i, 0), n-1)
			default:
				m[o] = reflectIndex(i, n)
			}
		}
		p.src[a] = m
	}
	if x.Rank() > 0 {
		p.shape = outShape
	}
	p.inStrides = Strides(dims)
	p.outStrides = Strides(outShape)
	return p, nil
}

// reflectIndex mirrors i into [0, n) about the first and last elements
// without repeating them: ..., 2, 1, [0, 1, .., n-1], n-2, n-3, ...
func reflectIndex(i, n int) int {
	if n == 1 {
		return 0
	}
	period := 2 * (n - 1)
	i %= period
	if i < 0 {
		i += period
	}
	if i >= n {
		i = period - i
	}
	return i
}

// fullPads returns the pads for all r axes ([begins..., ends...]).
func (k *padKernel) fullPads(in []*Tensor, r int) ([]int, error) {
	pads := k.pads
	if k.n.Opset >= 11 {
		if len(in) < 2 || in[1] == nil {
			return nil, k.n.errorf("missing pads input")
		}
		var err error
		if pads, err = shapeInts(in[1]); err != nil {
			return nil, k.n.errorf("pads input: %v", err)
		}
	}
	if k.n.Opset >= 18 && len(in) > 3 && in[3] != nil {
		axes, err := shapeInts(in[3])
		if err != nil {
			return nil, k.n.errorf("axes input: %v", err)
		}
		norm, err := shapeAxes(axes, r)
		if err != nil {
			return nil, k.n.errorf("axes %v: %v", axes, err)
		}
		if len(pads) != 2*len(norm) {
			return nil, k.n.errorf("%d pads for %d axes (want %d)", len(pads), len(norm), 2*len(norm))
		}
		full := make([]int, 2*r)
		for i, a := range norm {
			full[a] = pads[i]
			full[a+r] = pads[i+len(norm)]
		}
		return full, nil
	}
	if len(pads) != 2*r {
		return nil, k.n.errorf("%d pads for input of rank %d (want %d)", len(pads), r, 2*r)
	}
	return pads, nil
}

// constant returns the fill value for constant mode.
func (k *padKernel) constant(in []*Tensor) float64 {
	if k.n.Opset < 11 {
		return float64(k.value)
	}
	if len(in) > 2 && in[2] != nil && in[2].Len() > 0 {
		return in[2].Float(0)
	}
	return 0
}

// rows calls fn for every innermost output row: outOff is the row's start in
// the output and inOff the start of its source row in the input, or -1 when
// an outer axis falls in the constant fill.
func (p *padPlan) rows(fn func(inOff, outOff int)) {
	last := len(p.src) - 1
	var walk func(a, inOff, outOff int)
	walk = func(a, inOff, outOff int) {
		if a == last {
			fn(inOff, outOff)
			return
		}
		for o, i := range p.src[a] {
			in := -1
			if inOff >= 0 && i >= 0 {
				in = inOff + i*p.inStrides[a]
			}
			walk(a+1, in, outOff+o*p.outStrides[a])
		}
	}
	walk(0, 0, 0)
}

// padInto fills dst (the padded output) from src.
func padInto[T float32 | int64](dst, src []T, p *padPlan, fill T) {
	last := p.src[len(p.src)-1]
	p.rows(func(inOff, outOff int) {
		row := dst[outOff : outOff+len(last)]
		for o, i := range last {
			if inOff < 0 || i < 0 {
				row[o] = fill
			} else {
				row[o] = src[inOff+i]
			}
		}
	})
}

func (k *padKernel) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	p, err := k.plan(in)
	if err != nil {
		return nil, err
	}
	x := in[0]
	y := shapeAlloc(s, x.DType, p.shape)
	c := k.constant(in)
	if x.DType == Int64 {
		padInto(y.Ints, x.Ints, p, int64(c))
	} else {
		padInto(y.Data, x.Data, p, float32(c))
	}
	return []*Tensor{y}, nil
}

func (k *padKernel) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	g := make([]*Tensor, len(in))
	if in[0].DType != Float32 {
		return g, nil
	}
	var gx, gc *Tensor
	if need[0] {
		gx = s.Tensor(in[0].Shape...)
		g[0] = gx
	}
	if k.n.Opset >= 11 && len(in) > 2 && in[2] != nil && need[2] {
		gc = s.Tensor(in[2].Shape...)
		g[2] = gc
	}
	if gout[0] == nil || (gx == nil && gc == nil) {
		return g, nil
	}
	p, err := k.plan(in)
	if err != nil {
		return nil, err
	}
	gy := gout[0].Data
	last := p.src[len(p.src)-1]
	var fillSum float64
	p.rows(func(inOff, outOff int) {
		row := gy[outOff : outOff+len(last)]
		for o, i := range last {
			if inOff < 0 || i < 0 {
				fillSum += float64(row[o])
			} else if gx != nil {
				gx.Data[inOff+i] += row[o]
			}
		}
	})
	if gc != nil && gc.Len() > 0 {
		gc.Data[0] = float32(fillSum)
	}
	return g, nil
}
