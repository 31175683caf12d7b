package model

import (
	"fmt"
	"runtime"
)

// Numpy/ONNX multidirectional broadcasting: shapes are aligned at their last
// dimension, and along each dimension every operand has either the output's
// size or 1 (a broadcast dimension, whose single element is reused).
//
// Elementwise loops walk the output through a bcastPlan: dimensions of size 1
// are dropped and neighbouring dimensions along which each operand behaves
// the same (contiguous or broadcast) are merged. The usual cases thereby
// become one or two tight loops: same shapes collapse to a single contiguous
// run; a scalar operand to one run against a constant; a per-channel [C,1,1]
// operand against NCHW to runs of H*W elements against one value each.

// elementwiseParallelMin is the number of elements above which elementwise
// loops are split across goroutines.
const elementwiseParallelMin = 256 << 10

// forElements calls fn over a partition of [0, n): once with (0, n) for up to
// elementwiseParallelMin elements, else in chunks on several goroutines.
func forElements(n int, fn func(lo, hi int)) {
	work := 0
	if n > elementwiseParallelMin {
		work = n
	}
	splitWork(n, work, fn)
}

// broadcastShape returns the multidirectional broadcast of the given shapes,
// or an error naming the first incompatible dimension.
func broadcastShape(shapes ...[]int) ([]int, error) {
	rank := 0
	for _, s := range shapes {
		rank = max(rank, len(s))
	}
	out := make([]int, rank)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		off := rank - len(s)
		for i, d := range s {
			switch o := out[off+i]; {
			case d == o || d == 1:
			case o == 1:
				out[off+i] = d
			default:
				return nil, fmt.Errorf("shapes %s cannot be broadcast together (dimension %d: %d vs %d)",
					shapesString(shapes), i-len(s), o, d)
			}
		}
	}
	return out, nil
}

// canBroadcastTo reports whether shape from broadcasts unidirectionally to
// shape to (as PRelu's slope to X, or Expand's input to its output).
func canBroadcastTo(from, to []int) bool {
	if len(from) > len(to) {
		return false
	}
	off := len(to) - len(from)
	for i, d := range from {
		if d != 1 && d != to[off+i] {
			return false
		}
	}
	return true
}

func shapesString(shapes [][]int) string {
	s := ""
	for i, sh := range shapes {
		if i > 0 {
			s += ", "
		}
		s += "[" + ShapeString(sh) + "]"
	}
	return s
}

// bcastPlan walks a row-major iteration space in runs along its innermost
// (collapsed) dimension and maps each run to offsets into two operands that
// are broadcast into the space. Within a run an operand advances by its
// inner step: 1 when it is contiguous there, 0 when it is broadcast.
type bcastPlan struct {
	dims   []int // collapsed iteration shape; never empty
	sa, sb []int // element strides of the operands per collapsed dimension (0: broadcast)
	total  int   // number of elements of the iteration space
}

// newBcastPlan plans a walk over shape for operands of shapes a and b, both
// of which must broadcast unidirectionally to shape.
func newBcastPlan(shape, a, b []int) *bcastPlan {
	p := &bcastPlan{total: NumElements(shape)}
	if SameShape(shape, a) && SameShape(shape, b) {
		p.dims, p.sa, p.sb = []int{p.total}, []int{1}, []int{1}
		return p
	}
	r := len(shape)
	sa, sb := alignedStrides(a, r), alignedStrides(b, r)
	for i, d := range shape {
		if d == 1 {
			continue
		}
		if j := len(p.dims) - 1; j >= 0 && (p.sa[j] == 0) == (sa[i] == 0) && (p.sb[j] == 0) == (sb[i] == 0) {
			// Same behaviour as the previous kept dimension: merge. A
			// contiguous operand's outer stride is its inner stride times d.
			p.dims[j] *= d
			p.sa[j], p.sb[j] = sa[i], sb[i]
			continue
		}
		p.dims = append(p.dims, d)
		p.sa = append(p.sa, sa[i])
		p.sb = append(p.sb, sb[i])
	}
	if len(p.dims) == 0 {
		p.dims, p.sa, p.sb = []int{1}, []int{0}, []int{0}
	}
	return p
}

// alignedStrides returns the strides of shape aligned right to rank r, with
// 0 for every dimension along which shape is broadcast (missing or size 1).
func alignedStrides(shape []int, r int) []int {
	st := make([]int, r)
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		if shape[i] != 1 {
			st[r-len(shape)+i] = acc
		}
		acc *= shape[i]
	}
	return st
}

// inner returns the operands' steps (0 or 1) within a run.
func (p *bcastPlan) inner() (int, int) {
	r := len(p.dims) - 1
	return p.sa[r], p.sb[r]
}

// walk calls fn(o, ia, ib, n) for the runs covering the linear output range
// [lo, hi): elements o..o+n-1 of the output correspond to the operands'
// elements starting at ia and ib, advancing by the inner steps.
func (p *bcastPlan) walk(lo, hi int, fn func(o, ia, ib, n int)) {
	if lo >= hi {
		return
	}
	r := len(p.dims)
	var buf [8]int
	var idx []int
	if r > len(buf) {
		idx = make([]int, r)
	} else {
		idx = buf[:r]
	}
	ia, ib := 0, 0
	rem := lo
	for d := r - 1; d >= 0; d-- {
		idx[d] = rem % p.dims[d]
		rem /= p.dims[d]
		ia += idx[d] * p.sa[d]
		ib += idx[d] * p.sb[d]
	}
	last := r - 1
	for o := lo; ; {
		n := min(p.dims[last]-idx[last], hi-o)
		fn(o, ia, ib, n)
		o += n
		if o >= hi {
			return
		}
		// Next row: rewind the inner index and carry into the outer ones.
		ia -= idx[last] * p.sa[last]
		ib -= idx[last] * p.sb[last]
		idx[last] = 0
		for d := last - 1; d >= 0; d-- {
			idx[d]++
			ia += p.sa[d]
			ib += p.sb[d]
			if idx[d] < p.dims[d] {
				break
			}
			ia -= idx[d] * p.sa[d]
			ib -= idx[d] * p.sb[d]
			idx[d] = 0
		}
	}
}

// sumToShape reduces g, a gradient with respect to a broadcast result, to the
// gradient of an operand of the given shape (which must broadcast to
// g.Shape) by summing over the broadcast dimensions. The result is a new
// tensor from s even when the shapes are equal.
func sumToShape(s *Scratch, g *Tensor, shape []int) *Tensor {
	out := s.Tensor(shape...)
	if NumElements(shape) == len(g.Data) {
		// Equal shapes, or ones that differ only by size-1 dimensions.
		copy(out.Data, g.Data)
		return out
	}
	p := newBcastPlan(g.Shape, g.Shape, shape)
	parts := 1
	if p.total > elementwiseParallelMin {
		parts = min(runtime.NumCPU(), p.total/(elementwiseParallelMin/2))
	}
	if parts <= 1 {
		sumRuns(p, g.Data, out.Data, 0, p.total)
		return out
	}
	// Each part accumulates into its own buffer (part 0 into out), since
	// broadcast runs of different parts may share target elements.
	acc := make([][]float32, parts)
	acc[0] = out.Data
	for i := 1; i < parts; i++ {
		acc[i] = s.Floats(len(out.Data))
	}
	splitWork(parts, p.total, func(plo, phi int) {
		for i := plo; i < phi; i++ {
			sumRuns(p, g.Data, acc[i], i*p.total/parts, (i+1)*p.total/parts)
		}
	})
	for _, a := range acc[1:] {
		for i, v := range a {
			out.Data[i] += v
		}
	}
	return out
}

// sumRuns adds the elements [lo, hi) of src (laid out as p's iteration
// space) into dst (p's operand b).
func sumRuns(p *bcastPlan, src, dst []float32, lo, hi int) {
	_, sb := p.inner()
	p.walk(lo, hi, func(o, _, ib, n int) {
		run := src[o : o+n]
		if sb == 0 {
			var sum float64
			for _, v := range run {
				sum += float64(v)
			}
			dst[ib] += float32(sum)
			return
		}
		d := dst[ib : ib+n]
		for i, v := range run {
			d[i] += v
		}
	})
}

// expandTo returns scale*src broadcast to shape (to which src.Shape must
// broadcast unidirectionally), as a new float32 tensor from s.
func expandTo(s *Scratch, src *Tensor, shape []int, scale float32) *Tensor {
	out := s.TensorNoZero(shape...)
	p := newBcastPlan(shape, src.Shape, src.Shape)
	sa, _ := p.inner()
	forElements(p.total, func(lo, hi int) {
		p.walk(lo, hi, func(o, ia, _, n int) {
			d := out.Data[o : o+n]
			if sa == 0 {
				v := scale * src.Data[ia]
				for i := range d {
					d[i] = v
				}
				return
			}
			for i, v := range src.Data[ia : ia+n] {
				d[i] = scale * v
			}
		})
	})
	return out
}
