package vis

import (
	"context"
	"fmt"

	"github.com/deepscope/deepscope/model"
)

// Occlusion is occlusion sensitivity (Zeiler & Fergus 2014, "Visualizing
// and Understanding Convolutional Networks"): a P x P patch of zeros in the
// network's input space (the dataset mean for mean-subtracted inputs),
// across all channels, slides over the input with stride s, and the map
// records the drop of the target:
//
//	map[i, j] = S(x) - S(x with rows i·s .. i·s+P-1, columns j·s .. j·s+P-1 zeroed)
//
// on the grid of ((H-P)/s + 1) x ((W-P)/s + 1) patch positions, with
// P = Patch (32, capped at the input's size) and s = Stride (8). Cell (i, j)
// is placed at its patch's centre. The occluded copies are batched when
// the model takes a batch.
type Occlusion struct{}

func init() { register(Occlusion{}) }

// Name returns "occlusion".
func (Occlusion) Name() string { return "occlusion" }

// Compute returns the drop of the target for every patch position.
func (Occlusion) Compute(ctx context.Context, r *Request) (*Map, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	patch, stride := r.Patch, r.Stride
	if patch == 0 {
		patch = 32
	}
	if stride == 0 {
		stride = 8
	}
	if patch < 0 || stride < 0 {
		return nil, fmt.Errorf("occlusion: patch and stride must be positive, got %d and %d", patch, stride)
	}
	c, h, w := r.Input.Shape[1], r.Input.Shape[2], r.Input.Shape[3]
	ph, pw := min(patch, h), min(patch, w)
	gh, gw := (h-ph)/stride+1, (w-pw)/stride+1
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	clean, err := r.forward(r.Input)
	if err != nil {
		return nil, err
	}
	clean.acts.Release()
	s0 := clean.scores[0]
	x := r.Input.Data
	scores, err := r.Scores(ctx, gh*gw, func(i int, dst []float32) {
		copy(dst, x)
		y0, x0 := i/gw*stride, i%gw*stride
		for ch := range c {
			for y := y0; y < y0+ph; y++ {
				row := dst[(ch*h+y)*w:]
				clear(row[x0 : x0+pw])
			}
		}
	})
	if err != nil {
		return nil, err
	}
	drop := make([]float32, gh*gw)
	for i, s := range scores {
		drop[i] = float32(s0 - s)
	}
	return &Map{Method: "occlusion", Kind: HeatMap, Data: model.FromData(drop, gh, gw), Height: h, Width: w,
		Origin: [2]float64{float64(ph-1) / 2, float64(pw-1) / 2}, Step: [2]float64{float64(stride), float64(stride)},
		Score: s0}, nil
}
