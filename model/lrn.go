package model

import "math"

func init() { register("LRN", newLRN) }

// lrn is ONNX LRN, local response normalisation across channels of an
// N x C x D1 x ... tensor:
//
//	d[c] = bias + alpha/size * sum_{j = c-lo}^{c+hi} x[j]^2  (j clipped to [0, C))
//	y[c] = x[c] * d[c]^-beta
//
// with lo = floor((size-1)/2) and hi = ceil((size-1)/2). Its exact
// vector-Jacobian product is
//
//	gx[j] = g[j] * d[j]^-beta - 2*beta*alpha/size * x[j] * sum_{c = j-hi}^{j+lo} g[c]*x[c]*d[c]^(-beta-1).
type lrn struct {
	n                 *nodeInfo
	size, lo, hi      int
	alpha, beta, bias float64
}

func newLRN(n *nodeInfo) (kernel, error) {
	size := n.Attrs.Int("size", 0)
	if size < 1 {
		return nil, n.errorf("size must be a positive integer (got %d)", size)
	}
	return &lrn{
		n:     n,
		size:  size,
		lo:    (size - 1) / 2,
		hi:    size / 2, // ceil((size-1)/2)
		alpha: float64(n.Attrs.Float("alpha", 1e-4)),
		beta:  float64(n.Attrs.Float("beta", 0.75)),
		bias:  float64(n.Attrs.Float("bias", 1)),
	}, nil
}

// dims checks x and returns its batch size, channel count and the number of
// elements per channel plane.
func (k *lrn) dims(x *Tensor) (n, c, inner int, err error) {
	if x.DType != Float32 {
		return 0, 0, 0, k.n.errorf("input is %s; only float32 is supported", x.DType)
	}
	if x.Rank() < 2 {
		return 0, 0, 0, k.n.errorf("input shape %s: want N x C x ...", ShapeString(x.Shape))
	}
	return x.Shape[0], x.Shape[1], NumElements(x.Shape[2:]), nil
}

// denom returns d for the element at offset i of channel c of the sample that
// starts at base.
func (k *lrn) denom(x []float32, base, c, nc, inner, i int) float64 {
	var sq float32
	for j := max(0, c-k.lo); j <= min(nc-1, c+k.hi); j++ {
		v := x[base+j*inner+i]
		sq += v * v
	}
	return k.bias + k.alpha/float64(k.size)*float64(sq)
}

// pow returns d^-beta, with fast paths for the common betas.
func (k *lrn) pow(d float64) float64 {
	switch k.beta {
	case 0.75:
		r := math.Sqrt(d)
		return 1 / (r * math.Sqrt(r))
	case 0.5:
		return 1 / math.Sqrt(d)
	case 1:
		return 1 / d
	}
	return math.Pow(d, -k.beta)
}

func (k *lrn) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	x := in[0]
	_, nc, inner, err := k.dims(x)
	if err != nil {
		return nil, err
	}
	y := s.TensorNoZero(x.Shape...)
	splitWork(len(x.Data)/max(inner, 1), len(x.Data)*k.size, func(lo, hi int) {
		for p := lo; p < hi; p++ { // p = sample*C + channel
			base, c := (p/nc)*nc*inner, p%nc
			for i := range inner {
				o := p*inner + i
				y.Data[o] = float32(float64(x.Data[o]) * k.pow(k.denom(x.Data, base, c, nc, inner, i)))
			}
		}
	})
	return []*Tensor{y}, nil
}

func (k *lrn) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	grads := make([]*Tensor, len(in))
	if !need[0] {
		return grads, nil
	}
	x := in[0]
	_, nc, inner, err := k.dims(x)
	if err != nil {
		return nil, err
	}
	if gout[0] == nil {
		grads[0] = s.Tensor(x.Shape...)
		return grads, nil
	}
	g := gout[0].Data
	gx := s.TensorNoZero(x.Shape...)
	grads[0] = gx
	t := s.FloatsNoZero(len(x.Data)) // g[c] * x[c] * d[c]^(-beta-1)
	planes := len(x.Data) / max(inner, 1)
	splitWork(planes, len(x.Data)*k.size, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			base, c := (p/nc)*nc*inner, p%nc
			for i := range inner {
				o := p*inner + i
				d := k.denom(x.Data, base, c, nc, inner, i)
				pw := k.pow(d)
				gx.Data[o] = float32(float64(g[o]) * pw)
				t[o] = float32(float64(g[o]) * float64(x.Data[o]) * pw / d)
			}
		}
	})
	f := 2 * k.beta * k.alpha / float64(k.size)
	splitWork(planes, len(x.Data)*k.size, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			base, j := (p/nc)*nc*inner, p%nc
			c0, c1 := max(0, j-k.hi), min(nc-1, j+k.lo)
			for i := range inner {
				var sum float32
				for c := c0; c <= c1; c++ {
					sum += t[base+c*inner+i]
				}
				o := p*inner + i
				gx.Data[o] -= float32(f * float64(x.Data[o]) * float64(sum))
			}
		}
	})
	return grads, nil
}
