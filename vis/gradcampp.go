package vis

import (
	"context"
	"math"
)

// GradCAMpp is Grad-CAM++ (Chattopadhay, Sarkar, Howlader & Balasubramanian
// 2018, "Grad-CAM++: Improved Visual Explanations for Deep Convolutional
// Networks") at layer A = CamLayer, in its closed form for the exponential
// of the target, Y = exp(S), whose higher derivatives are powers of the
// first: with g = ∂S/∂A,
//
//	α_kij = g_kij² / (2 g_kij² + Σ_ab A_kab · g_kij³)   (0 where the denominator is 0)
//	w_k   = exp(S) Σ_ij α_kij ReLU(g_kij)
//	map   = ReLU(Σ_k w_k A_k)   (h x w)
//
// The factor exp(S), common to every w_k, scales the map without changing
// its shape and overflows for large scores, so the stored map leaves it out.
type GradCAMpp struct{}

func init() { register(GradCAMpp{}) }

// Name returns "gradcam++".
func (GradCAMpp) Name() string { return "gradcam++" }

// Compute returns the Grad-CAM++ map at the request's CAM layer.
func (GradCAMpp) Compute(ctx context.Context, r *Request) (*Map, error) {
	c, err := r.camGradients(ctx)
	if err != nil {
		return nil, err
	}
	hw := c.h * c.w
	w := make([]float64, c.k)
	for k := range c.k {
		sumA := 0.0
		for _, v := range c.a[k*hw : (k+1)*hw] {
			sumA += float64(v)
		}
		for _, gf := range c.g[k*hw : (k+1)*hw] {
			g := float64(gf)
			if g <= 0 {
				continue // ReLU(g) = 0
			}
			den := 2*g*g + sumA*g*g*g
			if den != 0 && !math.IsNaN(den) {
				w[k] += g * g / den * g
			}
		}
	}
	return r.heatMap("gradcam++", c.layer, weightedSum(c.a, w, hw, true), c.h, c.w, c.score), nil
}
