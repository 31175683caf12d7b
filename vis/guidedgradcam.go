package vis

import (
	"context"

	"github.com/deepscope/deepscope/model"
)

// GuidedGradCAM is guided Grad-CAM (Selvaraju et al. 2017): guided
// backpropagation times the Grad-CAM map upsampled to the input,
//
//	map_c = Guided_c ⊙ Up(GradCAM)   for every input channel c (C x H x W)
//
// with Up the bilinear upsampling of Map.Upsample (PyTorch's
// align_corners=False). One forward pass serves both backward passes.
// Shown in colour (display mode raw).
type GuidedGradCAM struct{}

func init() { register(GuidedGradCAM{}) }

// Name returns "guided-gradcam".
func (GuidedGradCAM) Name() string { return "guided-gradcam" }

// Compute returns guided backpropagation weighted by Grad-CAM.
func (GuidedGradCAM) Compute(ctx context.Context, r *Request) (*Map, error) {
	layer, err := r.startCAM(ctx)
	if err != nil {
		return nil, err
	}
	input := r.Model.Input().Name
	p, err := r.gradients(r.Input, model.Guided, input)
	if err != nil {
		return nil, err
	}
	defer p.acts.Release()
	seed, err := r.Target.Seed(p.acts)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	g, err := r.Model.Backward(p.acts, map[string]*model.Tensor{r.Target.Layer: seed}, model.Vanilla, layer)
	if err != nil {
		return nil, err
	}
	c, err := camOf(p, layer, g[layer])
	if err != nil {
		return nil, err
	}
	up := r.heatMap("gradcam", layer, gradCAM(c), c.h, c.w, c.score).Upsample()
	guided := p.grads[input]
	plane := len(up)
	for i := range guided.Data {
		guided.Data[i] *= up[i%plane]
	}
	m := r.inputMap("guided-gradcam", "raw", guided, p.scores[0])
	m.Layer = layer
	return m, nil
}
