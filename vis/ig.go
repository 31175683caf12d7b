package vis

import (
	"context"

	"github.com/deepscope/deepscope/model"
)

// IG is integrated gradients (Sundararajan, Taly & Yan 2017, "Axiomatic
// Attribution for Deep Networks") from the zero baseline x' = 0 in the
// network's input space (the dataset mean for mean-subtracted inputs),
// by the right Riemann sum over m = Steps (50) steps:
//
//	map = x ⊙ (1/m) Σ_{k=1..m} ∂S/∂x (k/m · x)
//
// exactly x ⊙ w for a linear model; in general Σ map ≈ S(x) - S(0)
// (completeness). Shown as max over channels of |map| (gray).
type IG struct{}

func init() { register(IG{}) }

// Name returns "ig".
func (IG) Name() string { return "ig" }

// Compute returns the integrated gradients.
func (IG) Compute(ctx context.Context, r *Request) (*Map, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	m := r.Steps
	if m <= 0 {
		m = 50
	}
	x := r.Input.Data
	name := r.Model.Input().Name
	sum := make([]float64, len(x))
	var score float64
	err := r.batches(ctx, m, true, model.Vanilla, []string{name},
		func(i int, dst []float32) {
			alpha := float32(float64(i+1) / float64(m))
			for j, v := range x {
				dst[j] = alpha * v
			}
		},
		func(first int, p *pass) error {
			accumulate(sum, p.grads[name].Data)
			if last := m - 1 - first; last < len(p.scores) {
				score = p.scores[last] // step m is the input itself
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	g := meanOf(sum, m)
	for j, v := range x {
		g.Data[j] *= v
	}
	return r.inputMap("ig", "gray", g, score), nil
}
