package vis

import (
	"context"

	"github.com/deepscope/deepscope/model"
)

// Guided is guided backpropagation (Springenberg, Dosovitskiy, Brox &
// Riedmiller 2015, "Striving for Simplicity: The All Convolutional Net"):
// the input gradient where every ReLU-family op passes a signal back only
// where both its forward input and the signal from above are positive:
//
//	R_in = f'(x) * max(R_out, 0)   (model.Guided)
//
// Shown in colour (display mode raw).
type Guided struct{}

func init() { register(Guided{}) }

// Name returns "guided".
func (Guided) Name() string { return "guided" }

// Compute returns the guided backpropagation of the target.
func (Guided) Compute(ctx context.Context, r *Request) (*Map, error) {
	return backprop(ctx, r, "guided", model.Guided, "raw")
}
