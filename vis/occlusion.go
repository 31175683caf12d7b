package vis

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

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
// is placed at its patch's centre. Each occluded copy is computed
// incrementally from the clean pass (model.Patcher: only the part of each
// layer the patch reaches), on every core at once; models where that
// does not apply get the copies batched when they take a batch.
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
	defer clean.acts.Release()
	s0 := clean.scores[0]
	grid := occlusionGrid{c: c, h: h, w: w, ph: ph, pw: pw, gw: gw, stride: stride}
	scores, err := r.occludedScores(ctx, clean.acts, grid, gh*gw)
	if errors.Is(err, model.ErrNotPatchable) {
		scores, err = r.Scores(ctx, gh*gw, func(i int, dst []float32) {
			copy(dst, r.Input.Data)
			grid.occlude(i, dst)
		})
	}
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

// occlusionGrid is the geometry of the patch positions: patch i covers rows
// (i/gw)*stride .. +ph-1 and columns (i%gw)*stride .. +pw-1 of every
// channel of a c x h x w input.
type occlusionGrid struct{ c, h, w, ph, pw, gw, stride int }

// box returns patch i's pixels.
func (g occlusionGrid) box(i int) model.Box {
	y0, x0 := i/g.gw*g.stride, i%g.gw*g.stride
	return model.Box{Y0: y0, X0: x0, Y1: y0 + g.ph, X1: x0 + g.pw}
}

// occlude zeroes patch i in dst, a c x h x w input.
func (g occlusionGrid) occlude(i int, dst []float32) {
	b := g.box(i)
	for ch := range g.c {
		for y := b.Y0; y < b.Y1; y++ {
			row := dst[(ch*g.h+y)*g.w:]
			clear(row[b.X0:b.X1])
		}
	}
}

// restore copies patch i back from src into dst.
func (g occlusionGrid) restore(i int, dst, src []float32) {
	b := g.box(i)
	for ch := range g.c {
		for y := b.Y0; y < b.Y1; y++ {
			o := (ch*g.h + y) * g.w
			copy(dst[o+b.X0:o+b.X1], src[o+b.X0:o+b.X1])
		}
	}
}

// occludedScores scores the n occluded copies incrementally from the
// clean pass, on one goroutine per CPU, each with its own model.Patcher. It
// returns an error wrapping model.ErrNotPatchable, before any work, when
// the model does not allow it.
func (r *Request) occludedScores(ctx context.Context, clean *model.Activations, g occlusionGrid, n int) ([]float64, error) {
	if _, err := r.Model.NewPatcher(clean); err != nil {
		return nil, err
	}
	prog := r.progress(ctx, n)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]float64, n)
	workers := min(runtime.GOMAXPROCS(0), n)
	next := make(chan int)
	done := make(chan error)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pt, err := r.Model.NewPatcher(clean)
			buf := append([]float32(nil), r.Input.Data...)
			x := model.FromData(buf, r.Input.Shape...)
			for i := range next {
				if err == nil {
					// Copy i is the clean input with patch i zeroed; the
					// patch is restored for the next one.
					g.occlude(i, buf)
					var a *model.Activations
					if a, err = pt.Run(x, g.box(i), r.Target.Layer); err == nil {
						var s []float64
						if s, err = r.Target.Scores(a); err == nil {
							out[i] = s[0]
						}
					}
					g.restore(i, buf, r.Input.Data)
				}
				select {
				case done <- err:
				case <-stop:
					return
				}
			}
		}()
	}
	go func() {
		defer close(next)
		for i := range n {
			select {
			case next <- i:
			case <-stop:
				return
			}
		}
	}()
	var err error
	for range n {
		if err = <-done; err == nil {
			if err = ctx.Err(); err == nil {
				err = prog.add(1) // progress is reported from this goroutine
			}
		}
		if err != nil {
			break
		}
	}
	close(stop)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	return out, nil
}
