package vis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/deepscope/deepscope/model"
)

// Dream is DeepDream (Mordvintsev, Olah & Tyka 2015, "Inceptionism"):
// gradient ascent on a photo (or on noise) that amplifies whatever a layer
// already sees, ½ mean(a²) (DreamObjective), with normalized steps
// v += LR g / mean|g|, a random roll of the image (jitter, wrapping around)
// before each step, and octaves: the image is processed from a small scale
// up, each scale adding its detail to the next, so that patterns form at
// several sizes.
//
// The network's input size is fixed, so the image, of any size at least
// the network's, is processed in network-sized tiles (evenly spread,
// overlaps averaged) and octaves never go below the network's size.
type Dream struct {
	Model *model.Model
	Space PixelSpace
	// Objective is what to amplify, e.g. DreamObjective(layer) or a
	// channel's Activation.
	Objective Objective
	// Image is the start: network input values [1, C, H, W] with H and W
	// at least the network's. Nil starts from grey noise of Height x Width
	// (the network's size when 0).
	Image         *model.Tensor
	Height, Width int
	// Octaves (4) and OctaveScale (1.4): the image is processed at sizes
	// size/OctaveScale^k, k = Octaves-1 .. 0, none below the network's.
	Octaves     int
	OctaveScale float64
	// Steps per octave (10), step size in pixel units (1.5/255) and
	// maximum roll in pixels (32; negative for none). Zero values select
	// the defaults given.
	Steps  int
	LR     float64
	Jitter int
	Seed   uint64
	// Every and OnStep report the image (at the current octave's size)
	// as in Optimization; steps are counted over all octaves.
	Every  int
	OnStep func(*OptProgress) error
}

// DreamResult is the dreamed image.
type DreamResult struct {
	// Image is the result as network input values, at the start image's
	// size.
	Image            *model.Tensor
	Steps            int
	NetTime, Elapsed time.Duration
}

// Run dreams.
func (d *Dream) Run(ctx context.Context) (*DreamResult, error) {
	start := time.Now()
	if d.Model == nil || d.Objective == nil {
		return nil, errors.New("dream: needs a model and an objective")
	}
	in := d.Model.Input()
	if in.DType != model.Float32 || len(in.Shape) != 4 || in.Shape[0] != 1 {
		return nil, fmt.Errorf("dream: the model's input %q is %s; want a 1xCxHxW image", in.Name, model.ShapeString(in.Shape))
	}
	c, th, tw := in.Shape[1], in.Shape[2], in.Shape[3]
	space := d.Space.fit(c)
	octaves, scale := max(1, d.Octaves), d.OctaveScale
	if d.Octaves == 0 {
		octaves = 4
	}
	if scale == 0 {
		scale = 1.4
	}
	steps, lr, jitter := d.Steps, d.LR, d.Jitter
	if steps <= 0 {
		steps = 10
	}
	if lr == 0 {
		lr = 1.5 / 255
	}
	if jitter < 0 {
		jitter = 0
	} else if d.Jitter == 0 {
		jitter = 32
	}
	if !(scale > 1) {
		return nil, fmt.Errorf("dream: the octave scale must be above 1, got %g", scale)
	}
	rng := rand.New(rand.NewPCG(d.Seed, 0xd4ea))
	// The base image in pixels.
	h, w := th, tw
	var base []float32
	if d.Image != nil {
		x := d.Image
		if x.DType != model.Float32 || x.Rank() != 4 || x.Shape[0] != 1 || x.Shape[1] != c || len(x.Data) != x.Len() {
			return nil, fmt.Errorf("dream: the image is %v; want [1, %d, H, W]", x, c)
		}
		h, w = x.Shape[2], x.Shape[3]
		if h < th || w < tw {
			return nil, fmt.Errorf("dream: the image is %dx%d, smaller than the network's %dx%d input", w, h, tw, th)
		}
		base = make([]float32, len(x.Data))
		space.toPixels(base, x.Data, c)
	} else {
		if d.Height > 0 || d.Width > 0 {
			h, w = max(th, d.Height), max(tw, d.Width)
		}
		base = make([]float32, c*h*w)
		for i := range base {
			base[i] = float32(0.5 + 0.1*rng.NormFloat64())
		}
	}
	// Octave sizes, smallest first, none below the network's size.
	type size struct{ h, w int }
	var sizes []size
	for k := octaves - 1; k >= 0; k-- {
		f := math.Pow(scale, float64(k))
		s := size{max(th, int(math.Round(float64(h)/f))), max(tw, int(math.Round(float64(w)/f)))}
		if len(sizes) == 0 || sizes[len(sizes)-1] != s {
			sizes = append(sizes, s)
		}
	}
	t := &tiler{m: d.Model, obj: d.Objective, space: space, input: in.Name, c: c, th: th, tw: tw}
	t.layers = append([]string{in.Name}, d.Objective.Layers()...)
	total := steps * len(sizes)
	done := 0
	var detail []float32
	var prev size
	var src []float32
	for _, s := range sizes {
		octBase := resizePlanes(base, c, h, w, s.h, s.w)
		src = octBase
		if detail != nil {
			up := resizePlanes(detail, c, prev.h, prev.w, s.h, s.w)
			src = make([]float32, len(octBase))
			for i := range src {
				src[i] = octBase[i] + up[i]
			}
		}
		g := make([]float32, len(src))
		t.h, t.w = s.h, s.w
		a := &ascent{steps: steps, v: src, g: g, opt: normalized{lr},
			gradient: func() ([]float64, error) {
				dy, dx := 0, 0
				if jitter > 0 {
					dy, dx = rng.IntN(2*jitter+1)-jitter, rng.IntN(2*jitter+1)-jitter
				}
				return t.gradient(src, g, dy, dx)
			},
			after: func(int) { clamp01(src) },
			images: func() []*model.Tensor {
				x := model.NewTensor(1, c, s.h, s.w)
				space.toInput(x.Data, src, c)
				return []*model.Tensor{x}
			},
			every: d.Every}
		if d.OnStep != nil {
			offset := done
			a.onStep = func(p *OptProgress) error {
				p.Step += offset
				p.Steps = total
				return d.OnStep(p)
			}
		}
		n, err := a.run(ctx)
		done += n
		if err != nil {
			return nil, err
		}
		detail = make([]float32, len(src))
		for i := range src {
			detail[i] = src[i] - octBase[i]
		}
		prev = s
	}
	out := model.NewTensor(1, c, h, w)
	space.toInput(out.Data, src, c)
	return &DreamResult{Image: out, Steps: done, NetTime: t.netTime, Elapsed: time.Since(start)}, nil
}

// tiler computes the gradient of an objective w.r.t. the pixels of an
// image larger than the network's input, tile by tile.
type tiler struct {
	m         *model.Model
	obj       Objective
	space     PixelSpace
	input     string
	layers    []string
	c, th, tw int // channels, tile (network input) size
	h, w      int // image size
	netTime   time.Duration
	tile      []float32
	count     []float32
}

// gradient writes into g the gradient of the objective (summed over the
// tiles, averaged where they overlap) w.r.t. the pixels src (c x h x w),
// computed on src rolled by (dy, dx), and returns the tiles' mean value.
func (t *tiler) gradient(src, g []float32, dy, dx int) ([]float64, error) {
	c, h, w, th, tw := t.c, t.h, t.w, t.th, t.tw
	if len(t.tile) != c*th*tw {
		t.tile = make([]float32, c*th*tw)
	}
	clear(g)
	t.count = resize32(t.count, h*w)
	clear(t.count)
	total, tiles := 0.0, 0
	for _, y0 := range tileStarts(h, th) {
		for _, x0 := range tileStarts(w, tw) {
			// The tile of the rolled image: rolled(y, x) = src(y-dy, x-dx).
			for ch := range c {
				for y := range th {
					sy := ((y0+y-dy)%h + h) % h
					for x := range tw {
						sx := ((x0+x-dx)%w + w) % w
						t.tile[(ch*th+y)*tw+x] = src[(ch*h+sy)*w+sx]
					}
				}
			}
			xin := model.NewTensor(1, c, th, tw)
			t.space.toInput(xin.Data, t.tile, c)
			v, gx, err := t.pass(xin)
			if err != nil {
				return nil, err
			}
			total += v
			tiles++
			for ch := range c {
				k := float32(t.space.Gain[ch])
				for y := range th {
					sy := ((y0+y-dy)%h + h) % h
					for x := range tw {
						sx := ((x0+x-dx)%w + w) % w
						g[(ch*h+sy)*w+sx] += k * gx[(ch*th+y)*tw+x]
						if ch == 0 {
							t.count[sy*w+sx]++
						}
					}
				}
			}
		}
	}
	for ch := range c {
		for j, n := range t.count {
			if n > 1 {
				g[ch*h*w+j] /= n
			}
		}
	}
	return []float64{total / float64(tiles)}, nil
}

// pass runs one network input through the model and the objective and
// returns the value and the gradient w.r.t. the input.
func (t *tiler) pass(x *model.Tensor) (float64, []float32, error) {
	t0 := time.Now()
	a, err := t.m.RunTo(x, t.layers...)
	t.netTime += time.Since(t0)
	if err != nil {
		return 0, nil, err
	}
	defer a.Release()
	f, err := gather([]*model.Activations{a}, t.layers, t.input, t.space)
	if err != nil {
		return 0, nil, err
	}
	v, err := t.obj.Eval(f, true)
	if err != nil {
		return 0, nil, err
	}
	t0 = time.Now()
	grads, err := t.m.Backward(a, f.Grads(), model.Vanilla, t.input)
	t.netTime += time.Since(t0)
	if err != nil {
		return 0, nil, err
	}
	return v[0], grads[t.input].Data, nil
}

// tileStarts returns the starts of the fewest tiles of size t that cover
// [0, n), evenly spread (n >= t).
func tileStarts(n, t int) []int {
	k := (n + t - 1) / t
	if k <= 1 {
		return []int{0}
	}
	out := make([]int, k)
	for i := range out {
		out[i] = int(math.Round(float64(i) * float64(n-t) / float64(k-1)))
	}
	return out
}

// resizePlanes resizes c planes of h x w bilinearly (half-pixel centres,
// like PyTorch's align_corners=False) to dh x dw; it returns a copy when
// the size does not change.
func resizePlanes(src []float32, c, h, w, dh, dw int) []float32 {
	out := make([]float32, c*dh*dw)
	if h == dh && w == dw {
		copy(out, src)
		return out
	}
	sy, sx := float64(dh)/float64(h), float64(dw)/float64(w)
	m := &Map{Data: &model.Tensor{Shape: []int{h, w}}, Height: dh, Width: dw,
		Step: [2]float64{sy, sx}, Origin: [2]float64{(sy - 1) / 2, (sx - 1) / 2}}
	for ch := range c {
		m.upsampleInto(out[ch*dh*dw:(ch+1)*dh*dw], src[ch*h*w:(ch+1)*h*w])
	}
	return out
}

func clamp01(v []float32) {
	for i, x := range v {
		if !(x >= 0) {
			v[i] = 0
		} else if x > 1 {
			v[i] = 1
		}
	}
}

func resize32(v []float32, n int) []float32 {
	if cap(v) < n {
		return make([]float32, n)
	}
	return v[:n]
}
