package model

import "math"

// Pooling over the spatial axes of an N x C x D1 x ... x Dr tensor: MaxPool,
// AveragePool (1 to 3 spatial axes) and GlobalMaxPool, GlobalAveragePool (any
// number). Every (n, c) plane is pooled independently; large tensors are
// split across cores by plane.

func init() {
	register("MaxPool", newMaxPool)
	register("AveragePool", newAveragePool)
	register("GlobalMaxPool", func(n *nodeInfo) (kernel, error) { return &globalPool{n: n, max: true}, nil })
	register("GlobalAveragePool", func(n *nodeInfo) (kernel, error) { return &globalPool{n: n}, nil })
}

// maxPoolRank is the largest number of spatial axes MaxPool and AveragePool
// support. Lower ranks are pooled as 3-d with leading axes of size 1.
const maxPoolRank = 3

// poolAttrs are the window attributes shared by MaxPool and AveragePool.
type poolAttrs struct {
	kernel, strides, dilations []int
	pads                       []int // begin of every axis, then end of every axis
	autoPad                    string
	ceil                       bool
}

func parsePoolAttrs(n *nodeInfo) (poolAttrs, error) {
	a := poolAttrs{kernel: n.Attrs.Ints("kernel_shape", nil), autoPad: n.Attrs.String("auto_pad", "NOTSET")}
	r := len(a.kernel)
	if r == 0 {
		return a, n.errorf("kernel_shape is required")
	}
	if r > maxPoolRank {
		return a, n.errorf("kernel_shape %v has %d spatial axes; at most %d are supported", a.kernel, r, maxPoolRank)
	}
	ones := make([]int, r)
	for i := range ones {
		ones[i] = 1
	}
	a.strides = n.Attrs.Ints("strides", ones)
	a.dilations = n.Attrs.Ints("dilations", ones)
	a.pads = n.Attrs.Ints("pads", make([]int, 2*r))
	for _, c := range []struct {
		name string
		v    []int
		len  int
		min  int
	}{{"kernel_shape", a.kernel, r, 1}, {"strides", a.strides, r, 1}, {"dilations", a.dilations, r, 1}, {"pads", a.pads, 2 * r, 0}} {
		if len(c.v) != c.len {
			return a, n.errorf("%s %v must have %d values for kernel_shape %v", c.name, c.v, c.len, a.kernel)
		}
		for _, v := range c.v {
			if v < c.min {
				return a, n.errorf("%s %v: values must be at least %d", c.name, c.v, c.min)
			}
		}
	}
	switch a.autoPad {
	case "", "NOTSET":
		a.autoPad = "NOTSET"
	case "VALID", "SAME_UPPER", "SAME_LOWER":
	default:
		return a, n.errorf("auto_pad %q is not NOTSET, VALID, SAME_UPPER or SAME_LOWER", a.autoPad)
	}
	switch c := n.Attrs.Int("ceil_mode", 0); c {
	case 0, 1:
		a.ceil = c == 1
	default:
		return a, n.errorf("ceil_mode %d is not 0 or 1", c)
	}
	return a, nil
}

// poolAxis is the window geometry along one spatial axis: output position o
// reads input coordinates o*s - pb + j*d for taps j = 0..k-1; coordinates
// outside [0, in) are padding.
type poolAxis struct {
	in, out int
	k, s, d int
	pb, pe  int // padding before and after the input
}

// poolWin is the part of one output's window along one axis that lies in the
// input: taps lo..hi-1 at coordinates start + j*d.
type poolWin struct{ start, lo, hi int }

func (ax *poolAxis) window(o int) poolWin {
	start := o*ax.s - ax.pb
	lo, hi := ax.taps(start, 0, ax.in)
	return poolWin{start, lo, hi}
}

// padded counts the taps of a window that lie in the padded input
// [-pb, in+pe) (explicit or auto_pad SAME padding), for count_include_pad.
func (ax *poolAxis) padded(w poolWin) int {
	lo, hi := ax.taps(w.start, -ax.pb, ax.in+ax.pe)
	return hi - lo
}

// taps returns the range [lo, hi) of kernel taps j whose coordinate
// start + j*d lies in [from, to); hi == lo when there are none.
func (ax *poolAxis) taps(start, from, to int) (lo, hi int) {
	if ax.d == 1 {
		lo, hi = max(0, from-start), min(ax.k, to-start)
		return lo, max(lo, hi)
	}
	if start < from {
		lo = (from - start + ax.d - 1) / ax.d
	}
	hi = ax.k
	if last := to - 1 - start; last < 0 {
		hi = 0
	} else if last/ax.d+1 < hi {
		hi = last/ax.d + 1
	}
	return lo, max(lo, hi)
}

// poolGeom is the geometry of one pooling run: planes independent planes
// (batch x channels) of inSize elements, each pooled to outSize outputs. Axes
// are padded to maxPoolRank with leading axes of size 1 and a single tap.
type poolGeom struct {
	planes          int
	ax              [maxPoolRank]poolAxis
	inSize, outSize int
	taps            int // kernel taps per output, for work estimates
}

// geom computes the output shape and geometry for input x (float32, or also
// int64 when ints is set) following the
// ONNX output-size rules: explicit pads with floor or ceil rounding (in ceil
// mode a last window starting past the input and its leading padding is
// dropped, as in PyTorch), or auto_pad VALID / SAME_UPPER / SAME_LOWER
// (SAME_UPPER puts the odd padding at the end, SAME_LOWER at the start).
func (a *poolAttrs) geom(n *nodeInfo, x *Tensor, ints bool) (poolGeom, []int, error) {
	r := len(a.kernel)
	var g poolGeom
	if x.DType != Float32 && !(ints && x.DType == Int64) {
		return g, nil, n.errorf("input is %s; only float32 is supported", x.DType)
	}
	if x.Rank() != r+2 {
		return g, nil, n.errorf("input shape %s does not match kernel_shape %v: want rank %d (N x C x %d spatial axes)", ShapeString(x.Shape), a.kernel, r+2, r)
	}
	shape := make([]int, r+2)
	shape[0], shape[1] = x.Shape[0], x.Shape[1]
	g = poolGeom{planes: x.Shape[0] * x.Shape[1], inSize: 1, outSize: 1, taps: 1}
	for i := range g.ax {
		g.ax[i] = poolAxis{in: 1, out: 1, k: 1, s: 1, d: 1}
	}
	for i := range r {
		ax := &g.ax[maxPoolRank-r+i]
		*ax = poolAxis{in: x.Shape[2+i], k: a.kernel[i], s: a.strides[i], d: a.dilations[i]}
		ext := (ax.k-1)*ax.d + 1
		switch a.autoPad {
		case "VALID":
			if ax.in >= ext {
				ax.out = (ax.in-ext)/ax.s + 1
			}
		case "SAME_UPPER", "SAME_LOWER":
			ax.out = (ax.in + ax.s - 1) / ax.s
			total := max(0, (ax.out-1)*ax.s+ext-ax.in)
			ax.pb = total / 2
			if a.autoPad == "SAME_LOWER" {
				ax.pb = total - total/2
			}
			ax.pe = total - ax.pb
		default:
			ax.pb, ax.pe = a.pads[i], a.pads[r+i]
			if span := ax.in + ax.pb + ax.pe - ext; span >= 0 {
				if a.ceil {
					ax.out = (span+ax.s-1)/ax.s + 1
					if (ax.out-1)*ax.s >= ax.in+ax.pb {
						ax.out--
					}
				} else {
					ax.out = span/ax.s + 1
				}
			}
		}
		if ax.out <= 0 {
			return g, nil, n.errorf("input shape %s is too small for kernel_shape %v (dilations %v, pads %v, auto_pad %s)", ShapeString(x.Shape), a.kernel, a.dilations, a.pads, a.autoPad)
		}
		shape[2+i] = ax.out
		g.inSize *= ax.in
		g.outSize *= ax.out
		g.taps *= ax.k
	}
	return g, shape, nil
}

// visit calls fn for every output position of one plane, in row-major order,
// with its flat in-plane index and its window along each axis.
func (g *poolGeom) visit(fn func(o int, w0, w1, w2 poolWin)) {
	o := 0
	for o0 := range g.ax[0].out {
		w0 := g.ax[0].window(o0)
		for o1 := range g.ax[1].out {
			w1 := g.ax[1].window(o1)
			for o2 := range g.ax[2].out {
				fn(o, w0, w1, g.ax[2].window(o2))
				o++
			}
		}
	}
}

// argmax returns the in-plane offset of the first maximum of plane x over a
// window, scanning taps in row-major order (ties go to the earliest tap, as
// in PyTorch and onnxruntime), or -1 for a window entirely in the padding.
func poolArgmax[T float32 | int64](g *poolGeom, x []T, w0, w1, w2 poolWin) int {
	in1, in2 := g.ax[1].in, g.ax[2].in
	d0, d1, d2 := g.ax[0].d, g.ax[1].d, g.ax[2].d
	at := -1
	var best T
	for j0 := w0.lo; j0 < w0.hi; j0++ {
		i0 := w0.start + j0*d0
		for j1 := w1.lo; j1 < w1.hi; j1++ {
			row := (i0*in1+w1.start+j1*d1)*in2 + w2.start
			for j2 := w2.lo; j2 < w2.hi; j2++ {
				i := row + j2*d2
				if v := x[i]; at < 0 || v > best {
					best, at = v, i
				}
			}
		}
	}
	return at
}

// forTaps calls fn with the in-plane offset of every tap of a window that
// lies in the input.
func (g *poolGeom) forTaps(w0, w1, w2 poolWin, fn func(i int)) {
	in1, in2 := g.ax[1].in, g.ax[2].in
	d0, d1, d2 := g.ax[0].d, g.ax[1].d, g.ax[2].d
	for j0 := w0.lo; j0 < w0.hi; j0++ {
		i0 := w0.start + j0*d0
		for j1 := w1.lo; j1 < w1.hi; j1++ {
			row := (i0*in1+w1.start+j1*d1)*in2 + w2.start
			for j2 := w2.lo; j2 < w2.hi; j2++ {
				fn(row + j2*d2)
			}
		}
	}
}

// maxPool is ONNX MaxPool: y[o] = max over the window of o of x (padding
// never wins). The optional Indices output holds the flat index of that
// maximum in the whole input, N and C included, with the spatial part in
// row-major order (storage_order 0) or column-major order (1).
// Backward routes each gradient to its window's first maximum (the switch),
// in every Mode. Int64 inputs (uint8/int8 models) are pooled forward only.
type maxPool struct {
	n        *nodeInfo
	a        poolAttrs
	colMajor bool
	indices  bool
}

func newMaxPool(n *nodeInfo) (kernel, error) {
	a, err := parsePoolAttrs(n)
	if err != nil {
		return nil, err
	}
	so := n.Attrs.Int("storage_order", 0)
	if so != 0 && so != 1 {
		return nil, n.errorf("storage_order %d is not 0 or 1", so)
	}
	if n.Outputs > 2 {
		return nil, n.errorf("has %d outputs; MaxPool has at most 2 (Y, Indices)", n.Outputs)
	}
	return &maxPool{n: n, a: a, colMajor: so == 1, indices: n.Outputs == 2}, nil
}

func (k *maxPool) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	x := in[0]
	g, shape, err := k.a.geom(k.n, x, true)
	if err != nil {
		return nil, err
	}
	var y *Tensor
	var idx []int64
	checkAlloc(g.planes * g.outSize)
	if k.indices {
		// Scratch only holds float32 buffers, so Indices is a plain allocation.
		idx = make([]int64, g.planes*g.outSize)
	}
	if x.DType == Int64 {
		// Integer inputs (the loader widens uint8 and int8) are pooled exactly.
		y = FromInts(make([]int64, g.planes*g.outSize), shape...)
		maxPoolPlanes(k, &g, x.Ints, y.Ints, math.MinInt64, idx)
	} else {
		y = s.TensorNoZero(shape...)
		if idx == nil && g.ax[0].out == 1 && g.ax[0].in == 1 {
			maxPool2D(&g, x.Data, y.Data, -math.MaxFloat32)
		} else {
			maxPoolPlanes(k, &g, x.Data, y.Data, -math.MaxFloat32, idx) // empty windows as onnxruntime
		}
	}
	if idx != nil {
		return []*Tensor{y, FromInts(idx, shape...)}, nil
	}
	return []*Tensor{y}, nil
}

// maxPoolPlanes writes the window maxima of x to y (empty windows get fill)
// and, when idx is not nil, their ONNX indices.
func maxPoolPlanes[T float32 | int64](k *maxPool, g *poolGeom, x, y []T, fill T, idx []int64) {
	splitWork(g.planes, len(y)*g.taps, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			xp := x[p*g.inSize : (p+1)*g.inSize]
			yp := y[p*g.outSize : (p+1)*g.outSize]
			g.visit(func(o int, w0, w1, w2 poolWin) {
				at := poolArgmax(g, xp, w0, w1, w2)
				if at < 0 {
					yp[o] = fill
				} else {
					yp[o] = xp[at]
				}
				if idx != nil {
					idx[p*g.outSize+o] = k.flatIndex(g, p, at)
				}
			})
		}
	})
}

// maxPool2D is maxPoolPlanes for the common float32 case of two spatial
// axes without Indices: the same maxima (a NaN in a window gives NaN, as in
// PyTorch), branch-free, with the window bounds of each row and column
// computed once instead of per output.
func maxPool2D(g *poolGeom, x, y []float32, fill float32) {
	ah, aw := &g.ax[1], &g.ax[2]
	rows := make([]poolWin, ah.out)
	for o := range rows {
		rows[o] = ah.window(o)
	}
	cols := make([]poolWin, aw.out)
	for o := range cols {
		cols[o] = aw.window(o)
	}
	inW, dh, dw := aw.in, ah.d, aw.d
	if fullPairs(ah, rows) && fullPairs(aw, cols) {
		maxPool2x2(g.planes, g.inSize, g.outSize, inW, len(rows), len(cols), x, y)
		return
	}
	splitWork(g.planes, len(y)*g.taps, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			xp := x[p*g.inSize : (p+1)*g.inSize]
			yp := y[p*g.outSize : (p+1)*g.outSize]
			o := 0
			for _, wr := range rows {
				for _, wc := range cols {
					best, found := fill, false
					for j1 := wr.lo; j1 < wr.hi; j1++ {
						row := xp[(wr.start+j1*dh)*inW:]
						for j2 := wc.lo; j2 < wc.hi; j2++ {
							if v := row[wc.start+j2*dw]; found {
								best = max(best, v) // branch-free
							} else {
								best, found = v, true
							}
						}
					}
					yp[o] = best
					o++
				}
			}
		}
	})
}

// fullPairs reports whether every window of an axis is the pair of
// inputs 2o, 2o+1 (kernel 2, stride 2, no dilation, no padding used): the
// common downsampling pool, which maxPool2x2 computes without per-tap
// bookkeeping.
func fullPairs(ax *poolAxis, wins []poolWin) bool {
	if ax.d != 1 {
		return false
	}
	for o, w := range wins {
		if w.start != 2*o || w.lo != 0 || w.hi != 2 {
			return false
		}
	}
	return true
}

// maxPool2x2 is maxPool2D for 2x2 windows at stride 2. Its values are the
// same (a NaN in a window gives NaN, as in PyTorch).
func maxPool2x2(planes, inSize, outSize, inW, outH, outW int, x, y []float32) {
	splitWork(planes, len(y)*4, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			xp := x[p*inSize : (p+1)*inSize]
			yp := y[p*outSize : (p+1)*outSize]
			for oy := range outH {
				r0 := xp[2*oy*inW:][:2*outW]
				r1 := xp[(2*oy+1)*inW:][:2*outW]
				out := yp[oy*outW:][:outW]
				for ox := range out {
					// Branch-free (maxima of activations are unpredictable).
					out[ox] = max(max(r0[2*ox], r0[2*ox+1]), max(r1[2*ox], r1[2*ox+1]))
				}
			}
		}
	})
}

// windows returns the axis's window of every output.
func (ax *poolAxis) windows() []poolWin {
	w := make([]poolWin, ax.out)
	for o := range w {
		w[o] = ax.window(o)
	}
	return w
}

// maxPool2x2Backward is the backward pass of maxPool2x2: each output's
// gradient goes to the first tap (row by row) that holds the window's
// maximum y, as poolArgmax picks it.
func maxPool2x2Backward(planes, inSize, outSize, inW, outH, outW int, x, y, gy, gx []float32) {
	splitWork(planes, len(gy)*4, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			xp, gp := x[p*inSize:(p+1)*inSize], gx[p*inSize:(p+1)*inSize]
			for oy := range outH {
				r0, r1 := xp[2*oy*inW:][:2*outW], xp[(2*oy+1)*inW:][:2*outW]
				g2 := gp[2*oy*inW:][:inW+2*outW] // both rows
				ys, gys := y[p*outSize+oy*outW:][:outW], gy[p*outSize+oy*outW:][:outW]
				for ox, m := range ys {
					// The tap, chosen with conditional moves: which tap holds
					// the maximum is unpredictable (noisy inputs, SmoothGrad).
					at := inW + 2*ox + 1
					if r1[2*ox] == m {
						at = inW + 2*ox
					}
					if r0[2*ox+1] == m {
						at = 2*ox + 1
					}
					if r0[2*ox] == m {
						at = 2 * ox
					}
					g2[at] += gys[ox]
				}
			}
		}
	})
}

// flatIndex converts an in-plane offset of plane p to ONNX's Indices value.
func (k *maxPool) flatIndex(g *poolGeom, p, at int) int64 {
	if at < 0 {
		return -1
	}
	if k.colMajor {
		in0, in1, in2 := g.ax[0].in, g.ax[1].in, g.ax[2].in
		i2, i1, i0 := at%in2, at/in2%in1, at/(in2*in1)
		at = i0 + in0*(i1+in1*i2)
	}
	return int64(p*g.inSize + at)
}

func (k *maxPool) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	grads := make([]*Tensor, len(in))
	if !need[0] || in[0].DType == Int64 { // integer inputs get no gradient
		return grads, nil
	}
	x := in[0]
	g, _, err := k.a.geom(k.n, x, false)
	if err != nil {
		return nil, err
	}
	gx := s.Tensor(x.Shape...)
	grads[0] = gx
	if gout[0] == nil {
		return grads, nil
	}
	gy := gout[0].Data
	if g.ax[0].out == 1 && g.ax[0].in == 1 && len(out) > 0 && out[0] != nil && out[0].DType == Float32 &&
		fullPairs(&g.ax[1], g.ax[1].windows()) && fullPairs(&g.ax[2], g.ax[2].windows()) {
		maxPool2x2Backward(g.planes, g.inSize, g.outSize, g.ax[2].in, g.ax[1].out, g.ax[2].out, x.Data, out[0].Data, gy, gx.Data)
		return grads, nil
	}
	splitWork(g.planes, len(gy)*g.taps, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			xp := x.Data[p*g.inSize : (p+1)*g.inSize]
			gp := gx.Data[p*g.inSize : (p+1)*g.inSize]
			gyp := gy[p*g.outSize : (p+1)*g.outSize]
			g.visit(func(o int, w0, w1, w2 poolWin) {
				if at := poolArgmax(&g, xp, w0, w1, w2); at >= 0 {
					gp[at] += gyp[o]
				}
			})
		}
	})
	return grads, nil
}

// averagePool is ONNX AveragePool: y[o] = sum of x over the window of o
// divided by count(o), the number of taps inside the input
// (count_include_pad 0) or inside the explicitly or SAME-padded input
// (count_include_pad 1); in ceil mode the part of a last window that runs
// past the padded input is never counted. Backward spreads g[o]/count(o) over
// the window's input taps.
type averagePool struct {
	n          *nodeInfo
	a          poolAttrs
	includePad bool
}

func newAveragePool(n *nodeInfo) (kernel, error) {
	a, err := parsePoolAttrs(n)
	if err != nil {
		return nil, err
	}
	c := n.Attrs.Int("count_include_pad", 0)
	if c != 0 && c != 1 {
		return nil, n.errorf("count_include_pad %d is not 0 or 1", c)
	}
	return &averagePool{n: n, a: a, includePad: c == 1}, nil
}

// scale returns 1/count for a window, or 0 for an empty one.
func (k *averagePool) scale(g *poolGeom, w0, w1, w2 poolWin) float32 {
	count := (w0.hi - w0.lo) * (w1.hi - w1.lo) * (w2.hi - w2.lo)
	if k.includePad {
		count = g.ax[0].padded(w0) * g.ax[1].padded(w1) * g.ax[2].padded(w2)
	}
	if count == 0 {
		return 0
	}
	return 1 / float32(count)
}

func (k *averagePool) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	x := in[0]
	g, shape, err := k.a.geom(k.n, x, false)
	if err != nil {
		return nil, err
	}
	y := s.TensorNoZero(shape...)
	splitWork(g.planes, len(y.Data)*g.taps, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			xp := x.Data[p*g.inSize : (p+1)*g.inSize]
			yp := y.Data[p*g.outSize : (p+1)*g.outSize]
			g.visit(func(o int, w0, w1, w2 poolWin) {
				var sum float32
				g.forTaps(w0, w1, w2, func(i int) { sum += xp[i] })
				yp[o] = sum * k.scale(&g, w0, w1, w2)
			})
		}
	})
	return []*Tensor{y}, nil
}

func (k *averagePool) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	grads := make([]*Tensor, len(in))
	if !need[0] {
		return grads, nil
	}
	x := in[0]
	g, _, err := k.a.geom(k.n, x, false)
	if err != nil {
		return nil, err
	}
	gx := s.Tensor(x.Shape...)
	grads[0] = gx
	if gout[0] == nil {
		return grads, nil
	}
	gy := gout[0].Data
	splitWork(g.planes, len(gy)*g.taps, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			gp := gx.Data[p*g.inSize : (p+1)*g.inSize]
			gyp := gy[p*g.outSize : (p+1)*g.outSize]
			g.visit(func(o int, w0, w1, w2 poolWin) {
				v := gyp[o] * k.scale(&g, w0, w1, w2)
				g.forTaps(w0, w1, w2, func(i int) { gp[i] += v })
			})
		}
	})
	return grads, nil
}

// globalPool is ONNX GlobalMaxPool (max) or GlobalAveragePool: each (n, c)
// plane of an N x C x D1 x ... tensor is reduced to one value, its maximum or
// its mean, giving N x C x 1 x ... x 1. Backward sends the gradient to the
// plane's first maximum, or spreads g/size evenly.
type globalPool struct {
	n   *nodeInfo
	max bool
}

// planes checks x and returns its plane count and plane size.
func (k *globalPool) planes(x *Tensor) (planes, size int, err error) {
	if x.DType != Float32 {
		return 0, 0, k.n.errorf("input is %s; only float32 is supported", x.DType)
	}
	if x.Rank() < 2 {
		return 0, 0, k.n.errorf("input shape %s: want N x C x spatial axes", ShapeString(x.Shape))
	}
	planes = x.Shape[0] * x.Shape[1]
	size = NumElements(x.Shape[2:])
	if size == 0 && planes > 0 {
		return 0, 0, k.n.errorf("input shape %s has an empty spatial axis", ShapeString(x.Shape))
	}
	return planes, size, nil
}

// poolFirstMax returns the index of the first maximum of v (len(v) > 0).
func poolFirstMax(v []float32) int {
	at := 0
	for i, x := range v {
		if x > v[at] {
			at = i
		}
	}
	return at
}

func (k *globalPool) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	x := in[0]
	planes, size, err := k.planes(x)
	if err != nil {
		return nil, err
	}
	shape := make([]int, x.Rank())
	for i := range shape {
		shape[i] = 1
	}
	shape[0], shape[1] = x.Shape[0], x.Shape[1]
	y := s.TensorNoZero(shape...)
	splitWork(planes, len(x.Data), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			xp := x.Data[p*size : (p+1)*size]
			if k.max {
				y.Data[p] = xp[poolFirstMax(xp)]
				continue
			}
			var sum float64
			for _, v := range xp {
				sum += float64(v)
			}
			y.Data[p] = float32(sum / float64(size))
		}
	})
	return []*Tensor{y}, nil
}

func (k *globalPool) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	grads := make([]*Tensor, len(in))
	if !need[0] {
		return grads, nil
	}
	x := in[0]
	planes, size, err := k.planes(x)
	if err != nil {
		return nil, err
	}
	gx := s.Tensor(x.Shape...)
	grads[0] = gx
	if gout[0] == nil {
		return grads, nil
	}
	gy := gout[0].Data
	splitWork(planes, len(x.Data), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			xp := x.Data[p*size : (p+1)*size]
			gp := gx.Data[p*size : (p+1)*size]
			if k.max {
				gp[poolFirstMax(xp)] = gy[p]
				continue
			}
			v := gy[p] / float32(size)
			for i := range gp {
				gp[i] = v
			}
		}
	})
	return grads, nil
}
