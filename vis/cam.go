package vis

import (
	"context"
	"fmt"

	"github.com/deepscope/deepscope/model"
)

// CAM is the class activation map (Zhou, Khosla, Lapedriza, Oliva &
// Torralba 2016, "Learning Deep Features for Discriminative Localization")
// of a network whose target layer is an affine function (Gemm, MatMul or
// 1x1 Conv with constant weights, bias additions, constant scaling,
// reshapes) of the global
// average pooling of a layer A:
//
//	map = Σ_k w_k A_k   (h x w, not rectified; the bias is left out)
//
// where w_k is the weight of pooled channel k in the target: since the head
// is affine, w_k = ∂S/∂GAP(A)_k exactly, which the engine's backward pass
// gives for any such head (for a Flatten straight after the pooling, w is
// one-hot and the map is channel S of A). The layer is A; CamLayer must be
// empty or A.
type CAM struct{}

func init() { register(CAM{}) }

// Name returns "cam".
func (CAM) Name() string { return "cam" }

// Compute returns the class activation map.
func (CAM) Compute(ctx context.Context, r *Request) (*Map, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	layer, pooled, err := CAMLayer(r.Model, r.Target.Layer)
	if err != nil {
		return nil, err
	}
	if r.CamLayer != "" && r.CamLayer != layer {
		return nil, fmt.Errorf("cam: the network fixes the CAM layer to %s (the input of its global average pooling), not %s", layer, r.CamLayer)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := r.gradients(r.Input, model.Vanilla, pooled)
	if err != nil {
		return nil, err
	}
	defer p.acts.Release()
	c, err := camOf(p, layer, p.grads[pooled])
	if err != nil {
		return nil, err
	}
	w := make([]float64, c.k)
	for k := range w {
		w[k] = float64(c.g[k]) // ∂S/∂GAP_k: one value per channel
	}
	return r.heatMap("cam", layer, weightedSum(c.a, w, c.h*c.w, false), c.h, c.w, c.score), nil
}

// CAMLayer finds, below the target layer, the global average pooling that
// CAM needs: it walks down through an affine head (Gemm, MatMul, Conv,
// Add, Sub and Mul whose other operands are constants, BatchNormalization and
// reshaping ops) and returns the pooling's input (the CAM layer) and
// output. It fails for any other head.
func CAMLayer(m *model.Model, target string) (layer, pooled string, err error) {
	name := target
	for range 64 {
		op, inputs, ok := m.Producer(name)
		if !ok || len(inputs) == 0 {
			break
		}
		switch op {
		case "GlobalAveragePool":
			if l, err := m.Layer(inputs[0]); err != nil || !spatial(l) {
				break
			}
			return inputs[0], name, nil
		case "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Identity", "Dropout", "BatchNormalization":
			name = inputs[0]
			continue
		case "Gemm", "MatMul", "Conv", "Add", "Sub", "Mul":
			if next, ok := affineInput(m, inputs); ok {
				name = next
				continue
			}
		}
		return "", "", fmt.Errorf("cam needs a network whose %s is a linear layer (Gemm, MatMul or 1x1 Conv) on a global average pooling; %s comes from a %s; use gradcam instead", target, name, op)
	}
	return "", "", fmt.Errorf("cam needs a network whose %s is a linear layer on a global average pooling; none found below it; use gradcam instead", target)
}

// affineInput returns the one input of an op that is not a constant, when
// all others are.
func affineInput(m *model.Model, inputs []string) (string, bool) {
	next := ""
	for _, in := range inputs {
		if in == "" || isConstant(m, in) {
			continue
		}
		if next != "" {
			return "", false
		}
		next = in
	}
	return next, next != ""
}

// isConstant reports whether a tensor is neither a graph input nor a
// computed layer (so an initializer or a folded constant).
func isConstant(m *model.Model, name string) bool {
	for _, in := range m.Inputs {
		if in.Name == name {
			return false
		}
	}
	_, _, computed := m.Producer(name)
	return !computed
}
