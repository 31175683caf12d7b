package vis

import "github.com/deepscope/deepscope/model"

// ClassModel returns the optimization of Simonyan, Vedaldi & Zisserman
// 2014's class model visualization ("Deep Inside Convolutional Networks"):
// the image I that maximizes S_c(I) - λ‖I‖², S_c the class's logit (not its
// probability, which can also rise by pushing the other classes down), with
// the L2 penalty on the pixels about grey (L2Prior). Its recipe is the
// "simonyan" preset; set another Recipe (e.g. Preset("lucid")) for a
// regularized picture of the same objective.
func ClassModel(m *model.Model, space PixelSpace, class int, lambda float64) (*Optimization, error) {
	t, err := ClassTarget(m, class)
	if err != nil {
		return nil, err
	}
	obj := Activation(t)
	if lambda > 0 {
		obj = Sum(obj, L2Prior(lambda))
	}
	rec, _ := Preset("simonyan")
	return &Optimization{Model: m, Space: space, Objective: obj, Recipe: rec}, nil
}
