package vis

import (
	"context"
	"math"
	"slices"

	"github.com/deepscope/deepscope/model"
)

// ScoreCAM is Score-CAM (Wang, Wang, Du, Yang, Zhang, Ding, Mardziel & Hu
// 2020, "Score-CAM: Score-Weighted Visual Explanations for Convolutional
// Neural Networks") at layer A = CamLayer, of K channels over h x w: each
// channel, upsampled to the input and scaled to [0, 1], masks the input,
// and the network's response to the masked input weighs the channel:
//
//	M_k = (Up(A_k) - min Up(A_k)) / (max Up(A_k) - min Up(A_k))   (α_k = 0 when constant)
//	α_k = softmax(z(x ⊙ M_k))_c      for a class target c, z the logits (as the authors' code)
//	α_k = S(x ⊙ M_k) - S(0)          for a unit target: its increase over the
//	                                 baseline 0 of the network's input space
//	map = ReLU(Σ_k α_k A_k)   (h x w)
//
// with Up the bilinear upsampling of Map.Upsample (PyTorch's
// align_corners=False) and M_k applied to every input channel. That is one
// forward pass per varying channel plus one or two; the masked copies are
// batched when the model takes a batch.
type ScoreCAM struct{}

func init() { register(ScoreCAM{}) }

// Name returns "scorecam".
func (ScoreCAM) Name() string { return "scorecam" }

// Compute returns the Score-CAM map at the request's CAM layer.
func (ScoreCAM) Compute(ctx context.Context, r *Request) (*Map, error) {
	layer, err := r.startCAM(ctx)
	if err != nil {
		return nil, err
	}
	p, err := r.forward(r.Input)
	if err != nil {
		return nil, err
	}
	c, err := camOf(p, layer, nil)
	p.acts.Release()
	if err != nil {
		return nil, err
	}
	baseline := 0.0
	if !r.Target.Class {
		zero := r.Input.Clone()
		clear(zero.Data)
		base, err := r.forward(zero)
		if err != nil {
			return nil, err
		}
		base.acts.Release()
		baseline = base.scores[0]
	}

	// Channels constant over the layer give constant masks: α_k = 0
	// without a pass. (Should an upsampled mask still come out constant,
	// it is taken as 0 like the baseline.)
	hw := c.h * c.w
	var used []int
	for k := range c.k {
		plane := c.a[k*hw : (k+1)*hw]
		if slices.Max(plane) > slices.Min(plane) {
			used = append(used, k)
		}
	}
	grid := r.heatMap("", layer, nil, c.h, c.w, 0)
	H, W := r.Input.Shape[2], r.Input.Shape[3]
	mask := make([]float32, H*W)
	alpha := make([]float64, c.k)
	x := r.Input.Data
	err = r.batches(ctx, len(used), false, 0, nil,
		func(i int, dst []float32) {
			k := used[i]
			grid.upsampleInto(mask, c.a[k*hw:(k+1)*hw])
			lo, hi := slices.Min(mask), slices.Max(mask)
			for j := range mask {
				if hi > lo {
					mask[j] = (mask[j] - lo) / (hi - lo)
				} else {
					mask[j] = 0
				}
			}
			for j, v := range x {
				dst[j] = v * mask[j%len(mask)]
			}
		},
		func(first int, p *pass) error {
			scores := p.scores
			if r.Target.Class {
				var err error
				if scores, err = classProbabilities(p.acts, r.Target); err != nil {
					return err
				}
			}
			for j, s := range scores {
				alpha[used[first+j]] = s - baseline
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return r.heatMap("scorecam", layer, weightedSum(c.a, alpha, hw, true), c.h, c.w, c.score), nil
}

// classProbabilities returns, for each batch item, the softmax over the
// logit layer's channels (each summed over its positions, if any) at the
// target class.
func classProbabilities(a *model.Activations, t Target) ([]float64, error) {
	v, n, c, p, err := t.value(a)
	if err != nil {
		return nil, err
	}
	out := make([]float64, n)
	z := make([]float64, c)
	for i := range n {
		for ch := range c {
			z[ch] = 0
			for _, x := range v.Data[(i*c+ch)*p : (i*c+ch+1)*p] {
				z[ch] += float64(x)
			}
		}
		top := slices.Max(z)
		sum := 0.0
		for _, x := range z {
			sum += math.Exp(x - top)
		}
		out[i] = math.Exp(z[t.Unit]-top) / sum
	}
	return out, nil
}
