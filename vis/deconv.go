package vis

import (
	"context"

	"github.com/deepscope/deepscope/model"
)

// Deconv is the deconvolutional network of Zeiler & Fergus 2014
// ("Visualizing and Understanding Convolutional Networks"): the target is
// propagated back to the input like a gradient, except that every ReLU
// passes on only the positive part of the signal coming from above,
// whatever its forward input was:
//
//	R_in = max(R_out, 0)   at each ReLU-family op (model.Deconvnet)
//
// while convolutions apply their transposed filters and max pooling routes
// through its forward switches. Shown in colour (display mode raw).
type Deconv struct{}

func init() { register(Deconv{}) }

// Name returns "deconv".
func (Deconv) Name() string { return "deconv" }

// Compute returns the deconvnet reconstruction of the target.
func (Deconv) Compute(ctx context.Context, r *Request) (*Map, error) {
	return backprop(ctx, r, "deconv", model.Deconvnet, "raw")
}
