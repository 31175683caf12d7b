package vis

import (
	"context"

	"github.com/deepscope/deepscope/model"
)

// Saliency is the vanilla gradient of the target S with respect to the
// network input x (Simonyan, Vedaldi & Zisserman 2014, "Deep Inside
// Convolutional Networks: Visualising Image Classification Models and
// Saliency Maps"):
//
//	map = ∂S/∂x   (C x H x W)
//
// shown by default as max over channels of |∂S/∂x| (display mode gray).
type Saliency struct{}

func init() { register(Saliency{}) }

// Name returns "saliency".
func (Saliency) Name() string { return "saliency" }

// Compute returns the input gradient.
func (Saliency) Compute(ctx context.Context, r *Request) (*Map, error) {
	return backprop(ctx, r, "saliency", model.Vanilla, "gray")
}

// backprop is the input gradient in a backward mode, as an InputMap.
func backprop(ctx context.Context, r *Request, name string, mode model.Mode, display string) (*Map, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	g, score, err := r.inputGradient(ctx, mode)
	if err != nil {
		return nil, err
	}
	return r.inputMap(name, display, g, score), nil
}
