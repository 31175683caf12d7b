package vis

import (
	"context"
	"fmt"
	"slices"

	"github.com/deepscope/deepscope/model"
)

// GradCAM is Grad-CAM (Selvaraju, Cogswell, Das, Vedantam, Parikh & Batra
// 2017, "Grad-CAM: Visual Explanations from Deep Networks via
// Gradient-based Localization") at layer A = CamLayer (default
// DefaultCamLayer), of K channels over h x w positions:
//
//	α_k = (1/hw) Σ_ij ∂S/∂A_kij,   map = ReLU(Σ_k α_k A_k)   (h x w)
//
// at the layer's resolution; Render upsamples it bilinearly.
type GradCAM struct{}

func init() { register(GradCAM{}) }

// Name returns "gradcam".
func (GradCAM) Name() string { return "gradcam" }

// Compute returns the Grad-CAM map at the request's CAM layer.
func (GradCAM) Compute(ctx context.Context, r *Request) (*Map, error) {
	c, err := r.camGradients(ctx)
	if err != nil {
		return nil, err
	}
	return r.heatMap("gradcam", c.layer, gradCAM(c), c.h, c.w, c.score), nil
}

// gradCAM computes ReLU(Σ_k α_k A_k) with α_k the spatial mean of the
// gradient of channel k.
func gradCAM(c *camGrads) []float32 {
	hw := c.h * c.w
	alpha := make([]float64, c.k)
	for k := range c.k {
		s := 0.0
		for _, g := range c.g[k*hw : (k+1)*hw] {
			s += float64(g)
		}
		alpha[k] = s / float64(hw)
	}
	return weightedSum(c.a, alpha, hw, true)
}

// weightedSum returns Σ_k w_k A_k over planes of hw values, rectified when
// relu is set.
func weightedSum(a []float32, w []float64, hw int, relu bool) []float32 {
	acc := make([]float64, hw)
	for k, wk := range w {
		if wk == 0 {
			continue
		}
		for j, v := range a[k*hw : (k+1)*hw] {
			acc[j] += wk * float64(v)
		}
	}
	out := make([]float32, hw)
	for j, v := range acc {
		if relu && !(v > 0) {
			v = 0
		}
		out[j] = float32(v)
	}
	return out
}

// camGrads is a CAM layer's activation A and gradient ∂S/∂A ([K, h, w]
// each, batch dropped) for the request's input.
type camGrads struct {
	layer   string
	k, h, w int
	a, g    []float32
	score   float64
}

// camGradients runs the forward pass and the vanilla backward pass to the
// request's CAM layer.
func (r *Request) camGradients(ctx context.Context) (*camGrads, error) {
	layer, err := r.startCAM(ctx)
	if err != nil {
		return nil, err
	}
	p, err := r.gradients(r.Input, model.Vanilla, layer)
	if err != nil {
		return nil, err
	}
	defer p.acts.Release()
	return camOf(p, layer, p.grads[layer])
}

// camOf extracts the CAM layer's activation from a pass, with gradient g
// (nil: none).
func camOf(p *pass, layer string, g *model.Tensor) (*camGrads, error) {
	a, err := p.acts.Get(layer)
	if err != nil {
		return nil, err
	}
	if a.Rank() != 4 || a.Shape[0] != 1 || a.DType != model.Float32 {
		return nil, fmt.Errorf("CAM layer %s is %v; want 1xKxHxW float32", layer, a)
	}
	c := &camGrads{layer: layer, k: a.Shape[1], h: a.Shape[2], w: a.Shape[3], a: slices.Clone(a.Data), score: p.scores[0]}
	if g != nil {
		c.g = g.Data
	}
	return c, nil
}

// DefaultCamLayer returns the CAM layer used when none is given: the last
// layer, up to the target's own, whose output is [1, K, h, w] float32 with
// h x w > 1 x 1.
func DefaultCamLayer(m *model.Model, t Target) (string, error) {
	end := len(m.Layers) - 1
	if i := layerIndex(m, t.Layer); i >= 0 {
		end = i
	}
	for i := end; i >= 0; i-- {
		if l := m.Layers[i]; spatial(l) {
			return l.Name, nil
		}
	}
	return "", fmt.Errorf("model %s has no layer with a spatial output (NxKxHxW, H*W > 1) up to %s for CAM methods", m.Name, t.Layer)
}

// startCAM checks the request and returns its CAM layer, or ctx's error.
func (r *Request) startCAM(ctx context.Context) (string, error) {
	if err := r.check(); err != nil {
		return "", err
	}
	layer, err := r.camLayer()
	if err != nil {
		return "", err
	}
	return layer, ctx.Err()
}

// camLayer returns the request's CAM layer, checked to be spatial and not
// to come after the target layer.
func (r *Request) camLayer() (string, error) {
	if r.CamLayer == "" {
		return DefaultCamLayer(r.Model, r.Target)
	}
	l, err := r.Model.Layer(r.CamLayer)
	if err != nil {
		return "", err
	}
	if !spatial(l) {
		return "", fmt.Errorf("CAM layer %s has shape %s; want NxKxHxW with H*W > 1", l.Name, model.ShapeString(l.Shape))
	}
	if i, t := layerIndex(r.Model, l.Name), layerIndex(r.Model, r.Target.Layer); i > t && t >= 0 {
		return "", fmt.Errorf("CAM layer %s comes after the target layer %s", l.Name, r.Target.Layer)
	}
	return l.Name, nil
}

// spatial reports whether a layer is [N, K, h, w] float32 with h*w > 1.
func spatial(l model.Layer) bool {
	return l.DType == model.Float32 && len(l.Shape) == 4 && l.Shape[2]*l.Shape[3] > 1
}

// layerIndex is the position of a layer in m.Layers, -1 for graph inputs
// and unknown names.
func layerIndex(m *model.Model, name string) int {
	for i, l := range m.Layers {
		if l.Name == name {
			return i
		}
	}
	return -1
}
