package model

import (
	"fmt"
	"math"
)

func init() { register("BatchNormalization", newBatchNorm) }

// batchNorm is ONNX BatchNormalization in inference mode, with inputs X
// (N x C x D1 x ...), scale, B, mean and var (C values each):
//
//	y = scale * (x - mean) / sqrt(var + epsilon) + B = a[c]*x + b[c]
//
// with a = scale/sqrt(var+epsilon) and b = B - mean*a folded per channel (at
// load time when the parameters are constant). Old opsets' spatial=0 gives
// every element of C x D1 x ... its own parameters. The backward pass is
// gx = a[c]*g, plus the parameters' gradients when they are needed.
//
// Training mode (training_mode=1, batch statistics) is not supported. Extra
// outputs (running mean/var, and old opsets' saved mean/var, only defined in
// training) pass the mean and var inputs through unchanged.
type batchNorm struct {
	n       *nodeInfo
	eps     float64
	spatial bool
	ab      []float32 // a (first half) and b (second half) when folded at load time
}

func newBatchNorm(n *nodeInfo) (kernel, error) {
	if n.Inputs != 5 {
		return nil, n.errorf("has %d inputs; want 5 (X, scale, B, mean, var)", n.Inputs)
	}
	if n.Attrs.Int("training_mode", 0) != 0 {
		return nil, fmt.Errorf("%w: %s", ErrUnsupportedOp, n.errorf("training_mode=1 (normalising with batch statistics) is not supported; export the model in inference (eval) mode"))
	}
	if n.Outputs > 5 {
		return nil, n.errorf("has %d outputs; want at most 5", n.Outputs)
	}
	k := &batchNorm{n: n, eps: float64(n.Attrs.Float("epsilon", 1e-5)), spatial: n.Attrs.Int("spatial", 1) != 0}
	scale, b, mean, v := n.constInput(1), n.constInput(2), n.constInput(3), n.constInput(4)
	if scale != nil && b != nil && mean != nil && v != nil {
		k.ab = make([]float32, 2*scale.Len())
		if err := k.fold(k.ab, scale, b, mean, v); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// fold checks the four parameter tensors and writes a then b into ab
// (2 values per channel).
func (k *batchNorm) fold(ab []float32, scale, b, mean, v *Tensor) error {
	nc := len(ab) / 2
	for i, t := range []*Tensor{scale, b, mean, v} {
		if t == nil || t.DType != Float32 || t.Len() != nc {
			return k.n.errorf("input %d (%s) is %v; want %d float32 values", i+1, [...]string{"scale", "B", "mean", "var"}[i], t, nc)
		}
	}
	for c := range nc {
		a := float64(scale.Data[c]) / math.Sqrt(float64(v.Data[c])+k.eps)
		ab[c] = float32(a)
		ab[nc+c] = float32(float64(b.Data[c]) - float64(mean.Data[c])*a)
	}
	return nil
}

// coeffs checks x and returns the number of parameter channels, the number
// of elements each parameter applies to per sample, and the folded a, b.
func (k *batchNorm) coeffs(s *Scratch, in []*Tensor) (nc, inner int, ab []float32, err error) {
	x := in[0]
	if x.DType != Float32 {
		return 0, 0, nil, k.n.errorf("input X is %s; only float32 is supported", x.DType)
	}
	if x.Rank() < 2 {
		return 0, 0, nil, k.n.errorf("input X has shape %s; want N x C x ...", ShapeString(x.Shape))
	}
	nc, inner = x.Shape[1], NumElements(x.Shape[2:])
	if !k.spatial {
		nc, inner = nc*inner, 1
	}
	ab = k.ab
	if ab == nil {
		ab = s.FloatsNoZero(2 * nc)
		if err := k.fold(ab, in[1], in[2], in[3], in[4]); err != nil {
			return 0, 0, nil, err
		}
	} else if len(ab) != 2*nc {
		return 0, 0, nil, k.n.errorf("X has shape %s but the parameters have %d values; want %d", ShapeString(x.Shape), len(ab)/2, nc)
	}
	return nc, inner, ab, nil
}

func (k *batchNorm) forward(s *Scratch, in []*Tensor) ([]*Tensor, error) {
	x := in[0]
	nc, inner, ab, err := k.coeffs(s, in)
	if err != nil {
		return nil, err
	}
	y := s.TensorNoZero(x.Shape...)
	splitWork(len(x.Data)/max(inner, 1), len(x.Data), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			a, b := ab[p%nc], ab[nc+p%nc]
			xs, ys := x.Data[p*inner:(p+1)*inner], y.Data[p*inner:(p+1)*inner]
			for i, v := range xs {
				ys[i] = a*v + b
			}
		}
	})
	outs := []*Tensor{y}
	for i := 1; i < k.n.Outputs; i++ {
		src := in[3+(i-1)%2] // mean, var, mean, var
		t := s.TensorNoZero(src.Shape...)
		copy(t.Data, src.Data)
		outs = append(outs, t)
	}
	return outs, nil
}

func (k *batchNorm) backward(s *Scratch, in, out, gout []*Tensor, need []bool, mode Mode) ([]*Tensor, error) {
	grads := make([]*Tensor, len(in))
	x := in[0]
	nc, inner, ab, err := k.coeffs(s, in)
	if err != nil {
		return nil, err
	}
	for i := range in {
		if need[i] {
			grads[i] = s.Tensor(in[i].Shape...)
		}
	}
	if gout[0] == nil {
		return grads, nil
	}
	g := gout[0].Data
	planes := len(x.Data) / max(inner, 1)
	if gx := grads[0]; gx != nil {
		splitWork(planes, len(x.Data), func(lo, hi int) {
			for p := lo; p < hi; p++ {
				a := ab[p%nc]
				gs, gxs := g[p*inner:(p+1)*inner], gx.Data[p*inner:(p+1)*inner]
				for i, v := range gs {
					gxs[i] = a * v
				}
			}
		})
	}
	if !need[1] && !need[2] && !need[3] && !need[4] {
		return grads, nil
	}
	// Parameter gradients from per-channel sums S1 = sum g, S2 = sum g*(x-mean).
	scale, mean, v := in[1].Data, in[3].Data, in[4].Data
	s1, s2 := make([]float64, nc), make([]float64, nc)
	for p := range planes {
		c := p % nc
		m := mean[c]
		for i := p * inner; i < (p+1)*inner; i++ {
			s1[c] += float64(g[i])
			s2[c] += float64(g[i]) * float64(x.Data[i]-m)
		}
	}
	for c := range nc {
		inv := 1 / math.Sqrt(float64(v[c])+k.eps)
		if need[1] {
			grads[1].Data[c] = float32(s2[c] * inv)
		}
		if need[2] {
			grads[2].Data[c] = float32(s1[c])
		}
		if need[3] {
			grads[3].Data[c] = -ab[c] * float32(s1[c])
		}
		if need[4] {
			grads[4].Data[c] = float32(-0.5 * float64(scale[c]) * s2[c] * inv * inv * inv)
		}
	}
	return grads, nil
}
