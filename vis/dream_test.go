package vis

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/deepscope/deepscope/model"
)

// TestDream dreams on a 13x19 image (larger than the 8x8 network input:
// tiles, octaves) and checks that the layer's energy rises, the schedule of
// reports and determinism.
func TestDream(t *testing.T) {
	m := loadModel(t, "optim/optim")
	h, w := 13, 19
	x := model.NewTensor(1, 3, h, w)
	optimSpace.ToInput(x.Data, randomPixels(5, 3*h*w), 3)
	var steps []int
	d := &Dream{Model: m, Space: optimSpace, Objective: DreamObjective("act1"), Image: x,
		Octaves: 3, OctaveScale: 1.3, Steps: 4, LR: 0.02, Jitter: 3, Seed: 1, Every: 2,
		OnStep: func(p *OptProgress) error {
			steps = append(steps, p.Step)
			if p.Steps != 12 || len(p.Images) != 1 {
				t.Errorf("report %+v", p)
			}
			return nil
		}}
	res, err := d.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Octaves 13x19 / 1.3^k: 8x11 (clamped to the network's 8), 10x15,
	// 13x19: three octaves of 4 steps.
	if res.Steps != 12 || !slices.Equal(steps, []int{2, 4, 6, 8, 10, 12}) {
		t.Errorf("steps %d, reports %v", res.Steps, steps)
	}
	if !model.SameShape(res.Image.Shape, x.Shape) {
		t.Fatalf("result shape %v", res.Image.Shape)
	}
	energy := func(img *model.Tensor) float64 {
		px := make([]float32, len(img.Data))
		optimSpace.ToPixels(px, img.Data, 3)
		tl := &tiler{m: m, obj: DreamObjective("act1"), space: optimSpace.fit(3), input: "data",
			layers: []string{"data", "act1"}, c: 3, th: 8, tw: 8, h: h, w: w}
		v, err := tl.gradient(px, make([]float32, len(px)), 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		return v[0]
	}
	if before, after := energy(x), energy(res.Image); !(after > before*1.2) {
		t.Errorf("dream energy %g -> %g", before, after)
	}
	again, err := d.Run(context.Background())
	if err != nil || !slices.Equal(again.Image.Data, res.Image.Data) {
		t.Errorf("not deterministic (err %v)", err)
	}
	// From noise, and cancellation.
	ctx, cancel := context.WithCancel(context.Background())
	d.Image, d.Height, d.Width = nil, 10, 10
	d.OnStep = func(p *OptProgress) error {
		if p.Step == 2 {
			cancel()
		}
		return nil
	}
	if _, err := d.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancel: %v", err)
	}
	d.Image = model.NewTensor(1, 3, 6, 20)
	if _, err := d.Run(context.Background()); err == nil {
		t.Error("an image smaller than the network was accepted")
	}
}

// TestTileGradient checks the tiled, rolled gradient against finite
// differences.
func TestTileGradient(t *testing.T) {
	m := loadModel(t, "optim/optim")
	h, w := 11, 9
	px := randomPixels(8, 3*h*w)
	tl := &tiler{m: m, obj: DreamObjective("act2"), space: optimSpace.fit(3), input: "data",
		layers: []string{"data", "act2"}, c: 3, th: 8, tw: 8, h: h, w: w}
	g := make([]float32, len(px))
	if _, err := tl.gradient(px, g, 2, -3); err != nil {
		t.Fatal(err)
	}
	// The tiles overlap; gradient() averages the overlaps, so compare with
	// the finite differences of the tiles' mean value times the count.
	count := slices.Clone(tl.count)
	f := func() float64 {
		v, err := tl.gradient(px, make([]float32, len(px)), 2, -3)
		if err != nil {
			t.Fatal(err)
		}
		return v[0] * 4 // 2x2 tiles
	}
	const eps = 1e-3
	for _, k := range []int{0, 17, 50, 98, 150, 200, 296} {
		old := px[k]
		px[k] = old + eps
		up := f()
		px[k] = old - eps
		down := f()
		px[k] = old
		fd := (up - down) / (2 * eps) / float64(max(1, count[k%(h*w)]))
		if d := fd - float64(g[k]); d > 1e-3 || d < -1e-3 {
			t.Errorf("pixel %d: gradient %g, finite difference %g", k, g[k], fd)
		}
	}
	if got := tileStarts(19, 8); !slices.Equal(got, []int{0, 6, 11}) {
		t.Errorf("tileStarts(19, 8) = %v", got)
	}
}
