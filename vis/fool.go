package vis

import (
	"fmt"
	"math"

	"github.com/deepscope/deepscope/model"
)

// Fooling returns the optimization of a fooling image (Nguyen, Yosinski &
// Clune 2015, "Deep Neural Networks are Easily Fooled", gradient-ascent
// variant): starting from noise, unregularized gradient ascent on the log
// probability of the class, stopped as soon as the network gives the class
// at least the given confidence (with a small margin, so that it survives
// the rounding of the pixels to 8 bits). The result looks like structured
// noise to people.
func Fooling(m *model.Model, space PixelSpace, class int, confidence float64) (*Optimization, error) {
	if _, err := ClassTarget(m, class); err != nil {
		return nil, err
	}
	if !(confidence > 0 && confidence < 1) {
		return nil, fmt.Errorf("fool: the confidence must be in (0, 1), got %g", confidence)
	}
	goal := math.Log(confidence + (1-confidence)/2)
	return &Optimization{Model: m, Space: space, Objective: LogProb(LogitLayer(m), class),
		Recipe: Recipe{Param: ParamPixel, InitNoise: 0.2, Optimizer: "adam", LR: 0.01, Steps: 300},
		Stop:   func(p *OptProgress) bool { return p.Values[0] >= goal }}, nil
}

// ClassProbs runs the model on x and returns the softmax of its logits
// (LogitLayer).
func ClassProbs(m *model.Model, x *model.Tensor) ([]float64, error) {
	a, err := m.Run(x)
	if err != nil {
		return nil, err
	}
	defer a.Release()
	z, err := a.Get(LogitLayer(m))
	if err != nil {
		return nil, err
	}
	p := make([]float64, len(z.Data))
	mx := math.Inf(-1)
	for _, v := range z.Data {
		mx = math.Max(mx, float64(v))
	}
	s := 0.0
	for i, v := range z.Data {
		p[i] = math.Exp(float64(v) - mx)
		s += p[i]
	}
	for i := range p {
		p[i] /= s
	}
	return p, nil
}

// Argmax returns the index of the largest value (the first on ties).
func Argmax(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// Quantize returns x (network input values) with its pixels rounded to
// the 256 levels an 8-bit image stores, as it is when read back from a PNG.
func Quantize(x *model.Tensor, space PixelSpace) *model.Tensor {
	c := x.Shape[1]
	out := model.NewTensor(x.Shape...)
	px := make([]float32, len(x.Data))
	space.ToPixels(px, x.Data, c)
	for i, p := range px {
		px[i] = float32(math.Round(math.Min(math.Max(float64(p), 0), 1)*255) / 255)
	}
	space.ToInput(out.Data, px, c)
	return out
}
