package vis

import (
	"fmt"

	"github.com/deepscope/deepscope/model"
)

// Inversion returns the optimization that reconstructs an image from one
// layer's code of x0 (Mahendran & Vedaldi 2015, "Understanding Deep Image
// Representations by Inverting Them"): minimize
//
//	‖Φ(x) - Φ₀‖² / ‖Φ₀‖² + λα Rα(x) + λTV R_TV(x)
//
// with Φ₀ the layer's value on x0, Rα the α-norm prior (α = 6) and R_TV
// the total-variation prior (β = 2) in the normalization of AlphaPrior and
// TVPrior, from noise, on pixels, with a little jitter. Deeper layers keep
// less of the image: the reconstructions show what the code retains.
func Inversion(m *model.Model, space PixelSpace, layer string, x0 *model.Tensor, lambdaAlpha, lambdaTV float64) (*Optimization, error) {
	phi0, err := LayerValue(m, x0, layer)
	if err != nil {
		return nil, err
	}
	obj := Sum(FeatureLoss(layer, phi0, 1), AlphaPrior(6, lambdaAlpha), TVPrior(2, lambdaTV))
	return &Optimization{Model: m, Space: space, Objective: obj,
		Recipe: Recipe{Param: ParamPixel, InitNoise: 0.05, Transforms: Transforms{Jitter: 2},
			Optimizer: "adam", LR: 0.02, Steps: 200}}, nil
}

// LayerValue runs the model on x and returns a copy of the layer's value.
func LayerValue(m *model.Model, x *model.Tensor, layer string) (*model.Tensor, error) {
	if _, err := m.Layer(layer); err != nil {
		return nil, err
	}
	a, err := m.RunTo(x, layer)
	if err != nil {
		return nil, err
	}
	defer a.Release()
	v, err := a.Get(layer)
	if err != nil {
		return nil, err
	}
	if v.DType != model.Float32 {
		return nil, fmt.Errorf("layer %s is %s, not float32", layer, v.DType)
	}
	return v.Clone(), nil
}

// InversionError returns the normalized reconstruction error
// ‖Φ(x) - Φ(x0)‖ / ‖Φ(x0)‖ at layer.
func InversionError(m *model.Model, layer string, x, x0 *model.Tensor) (float64, error) {
	phi, err := LayerValue(m, x, layer)
	if err != nil {
		return 0, err
	}
	phi0, err := LayerValue(m, x0, layer)
	if err != nil {
		return 0, err
	}
	return ReconstructionError(phi, phi0), nil
}
