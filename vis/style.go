package vis

import (
	"errors"
	"fmt"
	"slices"

	"github.com/deepscope/deepscope/model"
)

// StyleTransfer returns the optimization of neural style transfer (Gatys,
// Ecker & Bethge 2016, "Image Style Transfer Using Convolutional Neural
// Networks"): the image whose content — its values at contentLayer —
// matches content's and whose style — its Gram matrices at styleLayers —
// matches style's, i.e. the maximum of
//
//	-contentWeight ‖Φ(x) - Φ(content)‖²/‖Φ(content)‖² - styleWeight/L Σ_l ‖G_l(x) - G_l(style)‖²/‖G_l(style)‖²
//
// (FeatureLoss and GramLoss), starting from the content image. content and
// style are network inputs.
func StyleTransfer(m *model.Model, space PixelSpace, content, style *model.Tensor, contentLayer string, styleLayers []string, contentWeight, styleWeight float64) (*Optimization, error) {
	if len(styleLayers) == 0 {
		return nil, errors.New("style: no style layers")
	}
	var objs []Objective
	if contentWeight > 0 {
		phi, err := LayerValue(m, content, contentLayer)
		if err != nil {
			return nil, err
		}
		objs = append(objs, FeatureLoss(contentLayer, phi, contentWeight))
	}
	for _, l := range styleLayers {
		v, err := LayerValue(m, style, l)
		if err != nil {
			return nil, err
		}
		if v.Rank() < 2 {
			return nil, fmt.Errorf("style: layer %s has shape %s, no channels", l, model.ShapeString(v.Shape))
		}
		objs = append(objs, GramLoss(l, GramMatrix(v), styleWeight/float64(len(styleLayers))))
	}
	return &Optimization{Model: m, Space: space, Objective: Sum(objs...), Init: content,
		Recipe: Recipe{Param: ParamPixel, Optimizer: "adam", LR: 0.03, Steps: 150}}, nil
}

// StyleLayers picks default layers for style transfer among the model's
// feature maps ([1, C, H, W] outputs of activation ops, or of convolutions
// when there are none): five style layers spread over the first two thirds
// of the network (Gatys et al. use conv1_1 .. conv5_1 of VGG) and the
// content layer at about half its depth (their conv4_2).
func StyleLayers(m *model.Model) (content string, style []string) {
	acts := map[string]bool{"Relu": true, "LeakyRelu": true, "PRelu": true, "Clip": true, "Elu": true,
		"Selu": true, "Sigmoid": true, "Tanh": true, "HardSwish": true, "HardSigmoid": true}
	var maps []string
	for _, pass := range []func(op string) bool{
		func(op string) bool { return acts[op] },
		func(op string) bool { return op == "Conv" },
	} {
		for _, l := range m.Layers {
			if pass(l.Op) && len(l.Shape) == 4 && l.Shape[2] > 1 && l.Shape[3] > 1 {
				maps = append(maps, l.Name)
			}
		}
		if len(maps) > 0 {
			break
		}
	}
	if len(maps) == 0 {
		return "", nil
	}
	span := max(1, (2*len(maps)+2)/3)
	for i := range 5 {
		l := maps[min(span-1, i*(span-1)/4)]
		if !slices.Contains(style, l) {
			style = append(style, l)
		}
	}
	return maps[len(maps)/2], style
}
