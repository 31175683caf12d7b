package vis

import (
	"context"

	"github.com/deepscope/deepscope/model"
)

// GradXInput is gradient times input (Shrikumar, Greenside, Shcherbina &
// Kundaje 2016, "Not Just a Black Box"):
//
//	map = x ⊙ ∂S/∂x   (C x H x W)
//
// exact for a linear model, where it is each input value's contribution
// w_i x_i to the score. Shown as max over channels of |map| (gray).
type GradXInput struct{}

func init() { register(GradXInput{}) }

// Name returns "gradxinput".
func (GradXInput) Name() string { return "gradxinput" }

// Compute returns the input gradient times the input.
func (GradXInput) Compute(ctx context.Context, r *Request) (*Map, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	g, score, err := r.inputGradient(ctx, model.Vanilla)
	if err != nil {
		return nil, err
	}
	for i, x := range r.Input.Data {
		g.Data[i] *= x
	}
	return r.inputMap("gradxinput", "gray", g, score), nil
}
