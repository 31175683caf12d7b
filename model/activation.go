package model

import (
	"math"
)

// Activations: the ReLU family (Relu, LeakyRelu, PRelu, Clip), whose
// backward pass follows the Mode when they are ReLU-like, and Sigmoid, Tanh,
// HardSigmoid, HardSwish, Softmax and LogSoftmax, whose backward pass is
// always the exact vector-Jacobian product.

func init() {
	register("Relu", newRelu)
	register("LeakyRelu", newLeakyRelu)
	register("PRelu", newPRelu)
	register("Clip", newClip)
	register("Sigmoid", newSigmoid)
	register("Tanh", newTanh)
	register("HardSigmoid", newHardSigmoid)
	register("HardSwish", newHardSwish)
	register("Softmax", newSoftmax(false))
	register("LogSoftmax", newSoftmax(true))
}

// floatInput returns in[0] if it is a float32 tensor, else an error.
func floatInput(n *nodeInfo, in []*Tensor) (*Tensor, error) {
	if len(in) == 0 || in[0] == nil {
		return nil, n.errorf("missing input")
	}
	if in[0].DType != Float32 {
		return nil, n.errorf("input is %s, want float32", in[0])
	}
	return in[0], nil
}

// mapUnary returns f applied chunk-wise to x: fn(dst, src) fills dst from
// the same range of x.
func mapUnary(s *Scratch, x *Tensor, fn func(dst, src []float32)) []*Tensor {
	y := s.TensorNoZero(x.Shape...)
	forElements(len(x.Data), func(lo, hi int) { fn(y.Data[lo:hi], x.Data[lo:hi]) })
	return []*Tensor{y}
}

// above0 is 1 for x > 0 and 0 for x <= 0 (the ReLU derivative, 0 at 0 like
// PyTorch), computed from the bits without a branch or a float compare: the
// signs of activations are unpredictable, a mispredicted branch per value
// cost the backward pass as much as a whole forward pass, and Go's min/max
// builtins on floats take a dozen instructions to order NaNs and zeros. The
// value indexes two-entry slope tables.
func above0(x float32) uint64 { return uint64(-int64(int32(math.Float32bits(x)))) >> 63 }

// clearNegative is max(x, 0) for gradients: the sign bit, when set, clears
// the whole value (-0, negative values and NaNs with the sign bit become +0).
func clearNegative(x float32) float32 {
	b := math.Float32bits(x)
	return math.Float32frombits(b &^ uint32(int32(b)>>31))
}

// reluLikeGrad is the backward pass of Relu (neg 0) and LeakyRelu (neg
// alpha): dY/dX = 1 for x > 0, neg otherwise, in one pass over the upstream
// gradient that also applies the Mode (Guided and Deconvnet pass only its
// positive part; Deconvnet ignores x).
func reluLikeGrad(s *Scratch, gout []*Tensor, x *Tensor, neg float32, mode Mode) []*Tensor {
	g := upstream(s, gout, x)
	gx := s.TensorNoZero(x.Shape...)
	slope := [2]float32{neg, 1}
	forElements(len(x.Data), func(lo, hi int) {
		d, xs := gx.Data[lo:hi], x.Data[lo:hi]
		gs := g.Data[lo:hi]
		gs, xs = gs[:len(d)], xs[:len(d)]
		switch mode {
		case Vanilla:
			for i, v := range gs {
				d[i] = v * slope[above0(xs[i])]
			}
		case Guided:
			for i, v := range gs {
				d[i] = clearNegative(v) * slope[above0(xs[i])]
			}
		default: // Deconvnet
			for i, v := range gs {
				d[i] = clearNegative(v)
			}
		}
	})
	return []*Tensor{gx}
}

// mapGrad returns the input gradient of an elementwise op: fn(d, g, t)
// fills d from the upstream gradient g and t (the op's input or output,
// whichever its derivative is written in), chunk by chunk.
func mapGrad(s *Scratch, gout []*Tensor, t *Tensor, fn func(d, g, t []float32)) []*Tensor {
	g := upstream(s, gout, t)
	gx := s.TensorNoZero(t.Shape...)
	forElements(len(t.Data), func(lo, hi int) { fn(gx.Data[lo:hi], g.Data[lo:hi], t.Data[lo:hi]) })
	return []*Tensor{gx}
}

// upstream returns gout[0], or zeros shaped like x when no gradient arrives.
func upstream(s *Scratch, gout []*Tensor, x *Tensor) *Tensor {
	if len(gout) > 0 && gout[0] != nil {
		return gout[0]
	}
	return s.Tensor(x.Shape...)
}

// modeGradient starts the backward pass of a ReLU-like op: it returns a new
// buffer holding g (Vanilla) or max(g, 0) (Guided, Deconvnet), and whether
// the caller must still multiply by f'(x) (not for Deconvnet).
func modeGradient(s *Scratch, g *Tensor, mode Mode) (*Tensor, bool) {
	gx := s.TensorNoZero(g.Shape...)
	if mode == Vanilla {
		copy(gx.Data, g.Data)
		return gx, true
	}
	forElements(len(g.Data), func(lo, hi int) {
		d := gx.Data[lo:hi]
		for i, v := range g.Data[lo:hi] {
			d[i] = max(v, 0)
		}
	})
	return gx, mode != Deconvnet
}

// reluKernel computes Y = max(X, 0); f'(x) = 1 for x > 0, else 0 (0 at the
// kink, as PyTorch). The backward pass follows the Mode.
type reluKernel struct{ n *nodeInfo }

func newRelu(n *nodeInfo) (kernel, error) { return reluKernel{n}, nil }

func (k reluKernel) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	x, err := floatInput(k.n, in)
	if err != nil {
		return nil, err
	}
	return mapUnary(s, x, func(dst, src []float32) {
		for i, v := range src {
			dst[i] = max(v, 0)
		}
	}), nil
}

func (k reluKernel) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	return reluLikeGrad(s, gout, in[0], 0, mode), nil
}

// leakyReluKernel computes Y = X for X > 0, alpha*X otherwise (alpha default
// 0.01); f'(x) = 1 for x > 0, else alpha. The backward pass follows the Mode.
type leakyReluKernel struct {
	n     *nodeInfo
	alpha float32
}

func newLeakyRelu(n *nodeInfo) (kernel, error) {
	return leakyReluKernel{n, n.Attrs.Float("alpha", 0.01)}, nil
}

func (k leakyReluKernel) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	x, err := floatInput(k.n, in)
	if err != nil {
		return nil, err
	}
	slope := [2]float32{k.alpha, 1}
	return mapUnary(s, x, func(dst, src []float32) {
		dst = dst[:len(src)]
		for i, v := range src {
			dst[i] = v * slope[above0(v)]
		}
	}), nil
}

func (k leakyReluKernel) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	return reluLikeGrad(s, gout, in[0], k.alpha, mode), nil
}

// preluKernel computes Y = X for X >= 0, slope*X otherwise, with slope
// broadcast unidirectionally to X; dY/dX = 1 for x > 0, else slope (backward
// follows the Mode), dY/dslope = X where X <= 0 (exact in every mode, summed
// over broadcast dimensions).
//
// As a courtesy to pre-opset-7 models, a 1-D slope of length C that does not
// broadcast to X is applied per channel (axis 1).
type preluKernel struct{ n *nodeInfo }

func newPRelu(n *nodeInfo) (kernel, error) {
	if n.Inputs != 2 {
		return nil, n.errorf("want 2 inputs (X, slope), got %d", n.Inputs)
	}
	return preluKernel{n}, nil
}

// slopeShape returns the shape under which slope broadcasts to x.
func (k preluKernel) slopeShape(in []*Tensor) ([]int, error) {
	if len(in) != 2 || in[1] == nil {
		return nil, k.n.errorf("missing slope input")
	}
	x, slope := in[0], in[1]
	if slope.DType != Float32 {
		return nil, k.n.errorf("slope is %s, want float32", slope)
	}
	if canBroadcastTo(slope.Shape, x.Shape) {
		return slope.Shape, nil
	}
	if slope.Rank() == 1 && x.Rank() >= 2 && slope.Shape[0] == x.Shape[1] {
		shape := make([]int, x.Rank()-1)
		for i := range shape {
			shape[i] = 1
		}
		shape[0] = slope.Shape[0]
		return shape, nil
	}
	return nil, k.n.errorf("slope %v does not broadcast to X %v", slope.Shape, x.Shape)
}

func (k preluKernel) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	x, err := floatInput(k.n, in)
	if err != nil {
		return nil, err
	}
	sshape, err := k.slopeShape(in)
	if err != nil {
		return nil, err
	}
	slope := in[1].Data
	y := s.TensorNoZero(x.Shape...)
	p := newBcastPlan(x.Shape, x.Shape, sshape)
	_, ss := p.inner()
	forElements(p.total, func(lo, hi int) {
		p.walk(lo, hi, func(o, _, is, n int) {
			d := y.Data[o : o+n]
			for i, v := range x.Data[o : o+n] {
				if v < 0 {
					v *= slope[is+i*ss]
				}
				d[i] = v
			}
		})
	})
	return []*Tensor{y}, nil
}

func (k preluKernel) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	sshape, err := k.slopeShape(in)
	if err != nil {
		return nil, err
	}
	x, slope := in[0], in[1]
	g := upstream(s, gout, x)
	p := newBcastPlan(x.Shape, x.Shape, sshape)
	_, ss := p.inner()
	grads := make([]*Tensor, 2)
	if need[0] {
		gx, deriv := modeGradient(s, g, mode)
		if deriv {
			forElements(p.total, func(lo, hi int) {
				p.walk(lo, hi, func(o, _, is, n int) {
					d := gx.Data[o : o+n]
					for i, v := range x.Data[o : o+n] {
						if v <= 0 {
							d[i] *= slope.Data[is+i*ss]
						}
					}
				})
			})
		}
		grads[0] = gx
	}
	if len(need) > 1 && need[1] {
		t := s.TensorNoZero(x.Shape...)
		for i, v := range x.Data {
			t.Data[i] = 0
			if v <= 0 {
				t.Data[i] = v * g.Data[i]
			}
		}
		gs := sumToShape(s, t, sshape)
		gs.Shape = slope.Shape
		grads[1] = gs
	}
	return grads, nil
}

// clipKernel computes Y = min(max(X, lo), hi): lo and hi are the min and max
// attributes before opset 11 (default: the float32 range) and the optional
// scalar inputs 2 and 3 from opset 11 (absent: unbounded). dY/dX = 1 for
// lo < x < hi, else 0; dY/dlo = 1 where x < lo, dY/dhi = 1 where the result
// is hi and x exceeds it.
//
// With lo = 0 (ReLU6 and the like) Clip is ReLU-like and its X gradient
// follows the Mode; otherwise it is always the exact gradient.
type clipKernel struct {
	n      *nodeInfo
	inputs bool    // opset >= 11: bounds are inputs
	lo, hi float32 // attribute bounds (opset < 11)
}

func newClip(n *nodeInfo) (kernel, error) {
	k := clipKernel{n: n, inputs: n.Opset >= 11}
	if !k.inputs {
		k.lo = n.Attrs.Float("min", -math.MaxFloat32)
		k.hi = n.Attrs.Float("max", math.MaxFloat32)
	}
	return k, nil
}

// bounds returns the clip range for this run.
func (k clipKernel) bounds(in []*Tensor) (lo, hi float32, err error) {
	if !k.inputs {
		return k.lo, k.hi, nil
	}
	lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
	for i, b := range []*float32{&lo, &hi} {
		if i+1 >= len(in) || in[i+1] == nil {
			continue
		}
		t := in[i+1]
		if t.Len() != 1 {
			return 0, 0, k.n.errorf("%s must be a scalar, got shape %v", []string{"min", "max"}[i], t.Shape)
		}
		*b = float32(t.Float(0))
	}
	return lo, hi, nil
}

func (k clipKernel) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	if len(in) > 0 && in[0] != nil && in[0].DType == Int64 && k.inputs {
		return k.forwardInts(in)
	}
	x, err := floatInput(k.n, in)
	if err != nil {
		return nil, err
	}
	lo, hi, err := k.bounds(in)
	if err != nil {
		return nil, err
	}
	return mapUnary(s, x, func(dst, src []float32) {
		for i, v := range src {
			dst[i] = min(max(v, lo), hi)
		}
	}), nil
}

// forwardInts clips an int64 tensor (opset >= 12 integer Clip; the loader
// widens int8...int32 to int64).
func (k clipKernel) forwardInts(in []*Tensor) ([]*Tensor, error) {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	for i, b := range []*int64{&lo, &hi} {
		if i+1 >= len(in) || in[i+1] == nil {
			continue
		}
		t := in[i+1]
		if t.DType != Int64 || t.Len() != 1 {
			return nil, k.n.errorf("%s must be an int64 scalar like the input, got %s", []string{"min", "max"}[i], t)
		}
		*b = t.Ints[0]
	}
	x := in[0]
	y := &Tensor{Shape: append([]int(nil), x.Shape...), DType: Int64, Ints: make([]int64, len(x.Ints))}
	for i, v := range x.Ints {
		y.Ints[i] = min(max(v, lo), hi)
	}
	return []*Tensor{y}, nil
}

func (k clipKernel) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	lo, hi, err := k.bounds(in)
	if err != nil {
		return nil, err
	}
	x := in[0]
	g := upstream(s, gout, x)
	grads := make([]*Tensor, len(in))
	if need[0] {
		if lo != 0 {
			mode = Vanilla
		}
		gx, deriv := modeGradient(s, g, mode)
		if deriv {
			forElements(len(x.Data), func(i0, i1 int) {
				d := gx.Data[i0:i1]
				for i, v := range x.Data[i0:i1] {
					if !(v > lo && v < hi) {
						d[i] = 0
					}
				}
			})
		}
		grads[0] = gx
	}
	// Gradients of the bounds (inputs from opset 11), scalars like them.
	for b := 1; b <= 2 && b < len(in); b++ {
		if !need[b] || in[b] == nil {
			continue
		}
		var sum float64
		for i, v := range x.Data {
			if b == 1 && v < lo && lo <= hi || b == 2 && max(v, lo) > hi {
				sum += float64(g.Data[i])
			}
		}
		t := s.TensorNoZero(in[b].Shape...)
		t.Data[0] = float32(sum)
		grads[b] = t
	}
	return grads, nil
}

// sigmoidKernel computes Y = 1/(1+exp(-X)); dY/dX = Y(1-Y).
type sigmoidKernel struct{ n *nodeInfo }

func newSigmoid(n *nodeInfo) (kernel, error) { return sigmoidKernel{n}, nil }

func (k sigmoidKernel) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	x, err := floatInput(k.n, in)
	if err != nil {
		return nil, err
	}
	return mapUnary(s, x, func(dst, src []float32) {
		for i, v := range src {
			dst[i] = sigmoid(v)
		}
	}), nil
}

// sigmoid is the logistic function. For x << 0, expf(-x) overflows to +Inf
// and the result is 0, as it should be.
func sigmoid(x float32) float32 { return 1 / (1 + expf(-x)) }

// expf returns e**x in float32 arithmetic, within 2 ulp of the exact value
// over the normal range and faster than math.Exp: x = k*ln2 + r with
// |r| <= ln2/2, e**r by a polynomial (Cephes expf), times 2**k. Branch-free
// for ordinary x; below -87.3 (subnormal results) it returns 0, above 88.37
// +Inf.
func expf(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375 // ln 2 split so that k*ln2hi is exact
		ln2lo = -2.12194440e-4
		magic = 12582912 // 1.5 * 2**23: adding and subtracting it rounds to an integer
	)
	if x > 88.37626 || x < -87.33654 || x != x {
		switch {
		case x > 0:
			return float32(math.Inf(1))
		case x < 0:
			return 0
		}
		return x // NaN
	}
	k := x*log2e + magic
	k -= magic
	r := x - k*ln2hi - k*ln2lo
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	y := p*r*r + r + 1
	return y * math.Float32frombits(uint32(int32(k)+127)<<23)
}

func (k sigmoidKernel) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	return mapGrad(s, gout, out[0], func(d, gg, y []float32) {
		for i, v := range y {
			d[i] = gg[i] * v * (1 - v)
		}
	}), nil
}

// tanhKernel computes Y = tanh(X); dY/dX = 1 - Y².
type tanhKernel struct{ n *nodeInfo }

func newTanh(n *nodeInfo) (kernel, error) { return tanhKernel{n}, nil }

func (k tanhKernel) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	x, err := floatInput(k.n, in)
	if err != nil {
		return nil, err
	}
	return mapUnary(s, x, func(dst, src []float32) {
		for i, v := range src {
			dst[i] = float32(math.Tanh(float64(v)))
		}
	}), nil
}

func (k tanhKernel) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	return mapGrad(s, gout, out[0], func(d, gg, y []float32) {
		for i, v := range y {
			d[i] = gg[i] * (1 - v*v)
		}
	}), nil
}

// hardSigmoidKernel computes Y = max(0, min(1, alpha*X + beta)) (alpha
// default 0.2, beta 0.5); dY/dX = alpha where 0 < alpha*x + beta < 1, else 0.
type hardSigmoidKernel struct {
	n           *nodeInfo
	alpha, beta float32
}

func newHardSigmoid(n *nodeInfo) (kernel, error) {
	return hardSigmoidKernel{n, n.Attrs.Float("alpha", 0.2), n.Attrs.Float("beta", 0.5)}, nil
}

func (k hardSigmoidKernel) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	x, err := floatInput(k.n, in)
	if err != nil {
		return nil, err
	}
	return mapUnary(s, x, func(dst, src []float32) {
		for i, v := range src {
			dst[i] = max(0, min(1, k.alpha*v+k.beta))
		}
	}), nil
}

func (k hardSigmoidKernel) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	return mapGrad(s, gout, in[0], func(d, gg, x []float32) {
		for i, v := range x {
			d[i] = 0
			if t := k.alpha*v + k.beta; t > 0 && t < 1 {
				d[i] = k.alpha * gg[i]
			}
		}
	}), nil
}

// hardSwishKernel computes Y = X * max(0, min(1, X/6 + 1/2)); dY/dX = 0 for
// x < -3, x/3 + 1/2 for -3 <= x <= 3, 1 for x > 3 (as PyTorch).
type hardSwishKernel struct{ n *nodeInfo }

func newHardSwish(n *nodeInfo) (kernel, error) { return hardSwishKernel{n}, nil }

func (k hardSwishKernel) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	x, err := floatInput(k.n, in)
	if err != nil {
		return nil, err
	}
	return mapUnary(s, x, func(dst, src []float32) {
		for i, v := range src {
			dst[i] = v * max(0, min(1, v*(1.0/6)+0.5))
		}
	}), nil
}

func (k hardSwishKernel) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	return mapGrad(s, gout, in[0], func(d, gg, x []float32) {
		for i, v := range x {
			switch {
			case v < -3:
				d[i] = 0
			case v > 3:
				d[i] = gg[i]
			default:
				d[i] = gg[i] * (v*(1.0/3) + 0.5)
			}
		}
	}), nil
}

// softmaxKernel computes Softmax, Y = exp(X - max) / sum(exp(X - max)), or
// LogSoftmax, Y = X - max - log(sum(exp(X - max))), over groups of X:
//
//   - opset < 13: X is coerced to 2-D at axis (default 1) and each row of
//     the flattened trailing dimensions is one group;
//   - opset >= 13: groups run along the single dimension axis (default -1).
//
// Backward: Softmax dX = Y * (G - sum(G*Y)), LogSoftmax dX = G - exp(Y) *
// sum(G), sums per group.
type softmaxKernel struct {
	n      *nodeInfo
	log    bool
	axis   int
	coerce bool // opset < 13: flatten the dimensions from axis on
}

func newSoftmax(log bool) opFactory {
	return func(n *nodeInfo) (kernel, error) {
		k := softmaxKernel{n: n, log: log, coerce: n.Opset < 13}
		def := -1
		if k.coerce {
			def = 1
		}
		k.axis = n.Attrs.Int("axis", def)
		return k, nil
	}
}

// groups returns the layout of the groups of x: element j of group (o, i)
// is at o*size*inner + j*inner + i, o < outer, i < inner, j < size.
func (k softmaxKernel) groups(x *Tensor) (outer, size, inner int, err error) {
	r := x.Rank()
	axis := k.axis
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r {
		return 0, 0, 0, k.n.errorf("axis %d out of range for input shape %v", k.axis, x.Shape)
	}
	outer = NumElements(x.Shape[:axis])
	if k.coerce {
		return outer, NumElements(x.Shape[axis:]), 1, nil
	}
	return outer, x.Shape[axis], NumElements(x.Shape[axis+1:]), nil
}

// forGroups calls fn(base, stride, size) for every group, in parallel for
// large tensors.
func forGroups(outer, size, inner int, fn func(base, stride, size int)) {
	n := outer * inner
	work := 0
	if n*size > elementwiseParallelMin {
		work = n * size
	}
	splitWork(n, work, func(lo, hi int) {
		for g := lo; g < hi; g++ {
			o, i := g/inner, g%inner
			fn(o*size*inner+i, inner, size)
		}
	})
}

func (k softmaxKernel) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	x, err := floatInput(k.n, in)
	if err != nil {
		return nil, err
	}
	outer, size, inner, err := k.groups(x)
	if err != nil {
		return nil, err
	}
	y := s.TensorNoZero(x.Shape...)
	forGroups(outer, size, inner, func(base, stride, size int) {
		m := float32(math.Inf(-1))
		for j := 0; j < size; j++ {
			m = max(m, x.Data[base+j*stride])
		}
		var sum float64
		for j, p := 0, base; j < size; j, p = j+1, p+stride {
			e := math.Exp(float64(x.Data[p]) - float64(m))
			sum += e
			if !k.log {
				y.Data[p] = float32(e)
			}
		}
		if k.log {
			shift := float64(m) + math.Log(sum)
			for j, p := 0, base; j < size; j, p = j+1, p+stride {
				y.Data[p] = float32(float64(x.Data[p]) - shift)
			}
			return
		}
		inv := float32(1 / sum)
		for j, p := 0, base; j < size; j, p = j+1, p+stride {
			y.Data[p] *= inv
		}
	})
	return []*Tensor{y}, nil
}

func (k softmaxKernel) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	y := out[0]
	outer, size, inner, err := k.groups(y)
	if err != nil {
		return nil, err
	}
	g := upstream(s, gout, y)
	gx := s.TensorNoZero(y.Shape...)
	forGroups(outer, size, inner, func(base, stride, size int) {
		var dot float64
		for j, p := 0, base; j < size; j, p = j+1, p+stride {
			if k.log {
				dot += float64(g.Data[p])
			} else {
				dot += float64(g.Data[p]) * float64(y.Data[p])
			}
		}
		for j, p := 0, base; j < size; j, p = j+1, p+stride {
			if k.log {
				gx.Data[p] = g.Data[p] - float32(math.Exp(float64(y.Data[p]))*dot)
			} else {
				gx.Data[p] = y.Data[p] * (g.Data[p] - float32(dot))
			}
		}
	})
	return []*Tensor{gx}, nil
}
