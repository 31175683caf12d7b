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

// Images by optimization. Activation maximization, DeepDream, class models,
// inversion, fooling, adversarial images and style transfer all run one
// loop, gradient ascent on the network input through the engine's
// backward pass:
//
//	v            the variables of an image parameterization (Recipe.Param)
//	p = P(v)     N images of pixels (0..1), x = the network inputs (PixelSpace)
//	x' = T(x)    a random jitter/zoom/rotation per image (Recipe.Transforms)
//	a = f(x')    one forward pass per image
//	J(a)         the objective (Objective), maximized
//	g = dJ/dv    model.Backward seeded with dJ/da, then Tᵀ, then the chain
//	             rule through P
//	v ← v + Δ    Adam, momentum or plain ascent (Recipe.Optimizer), then
//	             Yosinski et al.'s regularization operators (Recipe.Regularizer)
//
// The loop is deterministic for a given Seed, stops soon after its context
// is cancelled (it checks before every step), and reports the images every
// Every steps so that a user interface can show them forming.

// PixelSpace maps pixels p (0..1, in the network's channel order) to
// network input values x = Gain[c]·p + Bias[c]: the sidecar's
// (255 p / scale - mean) / std. The zero value is the identity.
type PixelSpace struct {
	Gain, Bias []float64
	// BGR says the network's channels are blue, green, red (for the
	// colour decorrelation of the Fourier parameterization).
	BGR bool
}

// NewPixelSpace returns the pixel space of a network with the given number
// of channels fed as the sidecar says.
func NewPixelSpace(sc *model.Sidecar, channels int) PixelSpace {
	if sc == nil {
		return PixelSpace{}.fit(channels)
	}
	sp := PixelSpace{BGR: sc.Input.Color == model.BGR && channels == 3}
	at := func(v []float64, c int, def float64) float64 {
		switch {
		case len(v) == 0:
			return def
		case c < len(v):
			return v[c]
		}
		return v[0]
	}
	for c := range channels {
		s := at(sc.Input.Std, c, 1)
		sp.Gain = append(sp.Gain, 255/(sc.Input.Scale*s))
		sp.Bias = append(sp.Bias, -at(sc.Input.Mean, c, 0)/s)
	}
	return sp
}

// fit returns s with Gain and Bias for c channels (identity when unset).
func (s PixelSpace) fit(c int) PixelSpace {
	if len(s.Gain) >= c && len(s.Bias) >= c {
		return s
	}
	out := PixelSpace{BGR: s.BGR, Gain: make([]float64, c), Bias: make([]float64, c)}
	for i := range c {
		out.Gain[i] = 1
	}
	return out
}

// ToInput converts one image's pixels (c planes) into network input values
// (dst may be src).
func (s PixelSpace) ToInput(dst, src []float32, c int) { s.fit(c).toInput(dst, src, c) }

// ToPixels converts one image's network input values (c planes) into
// pixels (dst may be src).
func (s PixelSpace) ToPixels(dst, src []float32, c int) { s.fit(c).toPixels(dst, src, c) }

// toInput is ToInput for a fitted space.
func (s PixelSpace) toInput(dst, src []float32, c int) {
	plane := len(src) / c
	for ch := range c {
		g, b := float32(s.Gain[ch]), float32(s.Bias[ch])
		for j := ch * plane; j < (ch+1)*plane; j++ {
			dst[j] = g*src[j] + b
		}
	}
}

// toPixels is ToPixels for a fitted space.
func (s PixelSpace) toPixels(dst, src []float32, c int) {
	plane := len(src) / c
	for ch := range c {
		g, b := s.Gain[ch], s.Bias[ch]
		for j := ch * plane; j < (ch+1)*plane; j++ {
			dst[j] = float32((float64(src[j]) - b) / g)
		}
	}
}

// Recipe is how an image is optimized: its parameterization, transforms,
// regularizers and optimizer (see Preset for the named ones). Zero fields
// take defaults: Fourier, decay power 1, initial noise 0.01, Adam, LR 0.05,
// 128 steps — without colour decorrelation or transforms, which Preset
// ("lucid") adds.
type Recipe struct {
	// Param is ParamFourier or ParamPixel.
	Param string
	// Decorrelate mixes the Fourier parameterization's colours with the
	// square root of ImageNet's colour covariance (3 channels only).
	Decorrelate bool
	// DecayPower is the power of the Fourier parameterization's 1/f
	// scaling (1).
	DecayPower float64
	// InitNoise is the standard deviation of the initial noise: of the
	// pixels (pixel) or of the spectrum (fourier).
	InitNoise  float64
	Transforms Transforms
	// Regularizer applies Yosinski et al.'s operators after each step
	// (pixel parameterization only).
	Regularizer Regularizer
	// Optimizer is "adam", "momentum", "sgd", "normalized" (steps of
	// LR g / mean|g|, DeepDream's) or "sign" (LR sign(g), FGSM's).
	Optimizer string
	LR        float64
	Steps     int
	// Settle is the number of final steps taken without the transforms,
	// so that the image ends optimized for the untransformed view the
	// result is judged on (a unit's strongest position or a border
	// position that jitter keeps moving otherwise). At most an eighth of
	// the steps settle.
	Settle int
}

// Optimization is one image optimization to run.
type Optimization struct {
	Model *model.Model
	// Space maps pixels to the network input (NewPixelSpace).
	Space     PixelSpace
	Objective Objective
	Recipe
	// Images is the number of images optimized together (1 when 0), e.g.
	// for a diversity objective.
	Images int
	// Init, when set, is the starting image (a network input [1, C, H, W],
	// or [Images, C, H, W]); else grey with InitNoise.
	Init *model.Tensor
	Seed uint64
	// Every and OnStep: OnStep is called after every Every steps (and
	// after the last) with the current images; an error from it stops the
	// run and is returned.
	Every  int
	OnStep func(*OptProgress) error
	// Stop, when set, is called after each step; true ends the run.
	Stop func(*OptProgress) bool

	// lo, hi bound the pixel parameterization's pixels (adversarial
	// images); nil means [0, 1].
	lo, hi []float32
}

// OptProgress is the state of a run after a step.
type OptProgress struct {
	Step, Steps int
	// Values are the objective of each image at this step (on the
	// transformed images the step used).
	Values []float64
	// Images are the current images as network inputs [1, C, H, W]; set
	// only for OnStep.
	Images []*model.Tensor
}

// OptResult is the outcome of a run.
type OptResult struct {
	// Images are the optimized images as network inputs [1, C, H, W].
	Images []*model.Tensor
	// Values are the objective of each final image, untransformed.
	Values []float64
	// Steps is the number of steps taken.
	Steps int
	// NetTime is the time spent in the network's forward and backward
	// passes, ObjTime in the objective (its values and the gradient it
	// seeds the backward pass with), Elapsed the whole run's: the network
	// and the objective make a plain gradient step, the rest is the
	// overhead of the parameterization, transforms, optimizer and
	// regularizers.
	NetTime, ObjTime, Elapsed time.Duration
}

// Optimize runs the optimization.
func Optimize(ctx context.Context, o *Optimization) (*OptResult, error) {
	start := time.Now()
	r, err := o.newRun()
	if err != nil {
		return nil, err
	}
	steps, err := r.ascend(ctx)
	if err != nil {
		return nil, err
	}
	res, err := r.finish()
	if err != nil {
		return nil, err
	}
	res.Steps = steps
	res.Elapsed = time.Since(start)
	return res, nil
}

// run is the state of one Optimize call.
type run struct {
	o          *Optimization
	rec        Recipe
	n, c, h, w int
	chw        int
	space      PixelSpace
	input      string
	layers     []string
	p          param
	opt        optimizer
	rng        *rand.Rand
	px, x, gpx []float32 // n*chw
	gv         []float32
	xt         []float32                // n*chw, the transformed images
	spare      []float32                // chw, for warp.adjointPlanes
	half       []float32                // per channel 0.5: grey, the warps' fill
	gain, bias []float32                // per channel, PixelSpace's as float32
	settling   bool                     // the last Settle steps: no transforms
	gradPool   map[string]*model.Tensor // the objective's gradient buffers, reused every step
	warps      []*warp                  // each image's transform at this step,
	warped     []bool                   // if used
	netTime    time.Duration
	objTime    time.Duration
}

func (o *Optimization) newRun() (*run, error) {
	if o.Model == nil || o.Objective == nil {
		return nil, errors.New("optimize: needs a model and an objective")
	}
	in := o.Model.Input()
	if in.DType != model.Float32 || len(in.Shape) != 4 || in.Shape[0] != 1 {
		return nil, fmt.Errorf("optimize: the model's input %q is %s %s; want a 1xCxHxW image", in.Name, in.DType, model.ShapeString(in.Shape))
	}
	rec := o.Recipe.withDefaults()
	r := &run{o: o, rec: rec, n: max(1, o.Images), c: in.Shape[1], h: in.Shape[2], w: in.Shape[3], input: in.Name}
	r.chw = r.c * r.h * r.w
	r.space = o.Space.fit(r.c)
	r.layers = append([]string{in.Name}, o.Objective.Layers()...)
	for _, l := range r.layers[1:] {
		if _, err := o.Model.Layer(l); err != nil {
			return nil, err
		}
	}
	r.rng = o.rand()
	n := r.n
	var start []float32
	if o.Init != nil {
		x := o.Init
		if x.DType != model.Float32 || x.Rank() != 4 || (x.Shape[0] != 1 && x.Shape[0] != n) || !model.SameShape(x.Shape[1:], in.Shape[1:]) || len(x.Data) != x.Len() {
			return nil, fmt.Errorf("optimize: the initial image is %v; want [1 or %d, %d, %d, %d]", x, n, r.c, r.h, r.w)
		}
		start = make([]float32, n*r.chw)
		for i := range n {
			src := x.Data[:r.chw]
			if x.Shape[0] == n {
				src = x.Data[i*r.chw : (i+1)*r.chw]
			}
			r.space.toPixels(start[i*r.chw:(i+1)*r.chw], src, r.c)
		}
	}
	switch rec.Param {
	case ParamFourier:
		if rec.Regularizer.active() {
			return nil, errors.New("optimize: Yosinski's regularizers work on pixels; use the pixel parameterization")
		}
		f := newFourierParam(n, r.c, r.h, r.w, rec.DecayPower, rec.Decorrelate, r.space.BGR)
		if len(start) > 0 {
			for i := range n {
				f.setPixels(i, start[i*r.chw:(i+1)*r.chw])
			}
		} else {
			for i := range f.v {
				f.v[i] = float32(r.rng.NormFloat64() * rec.InitNoise)
			}
		}
		r.p = f
	case ParamPixel:
		p := &pixelParam{v: make([]float32, n*r.chw), lo: o.lo, hi: o.hi}
		if p.lo != nil && (len(p.lo) != len(p.v) || len(p.hi) != len(p.v)) {
			return nil, errors.New("optimize: pixel bounds do not match the images")
		}
		if len(start) > 0 {
			copy(p.v, start)
		} else {
			for i := range p.v {
				p.v[i] = float32(0.5 + r.rng.NormFloat64()*rec.InitNoise)
			}
		}
		p.project()
		r.p = p
	default:
		return nil, fmt.Errorf("optimize: unknown parameterization %q (want %s or %s)", rec.Param, ParamFourier, ParamPixel)
	}
	var err error
	if r.opt, err = newOptimizer(rec.Optimizer, rec.LR, len(r.p.vars())); err != nil {
		return nil, err
	}
	r.px = make([]float32, n*r.chw)
	r.x = make([]float32, n*r.chw)
	r.gpx = make([]float32, n*r.chw)
	r.gv = make([]float32, len(r.p.vars()))
	r.xt = make([]float32, n*r.chw)
	r.spare = make([]float32, r.chw)
	r.warps = make([]*warp, n)
	r.gradPool = map[string]*model.Tensor{}
	r.half, r.gain, r.bias = make([]float32, r.c), make([]float32, r.c), make([]float32, r.c)
	for ch := range r.c {
		r.half[ch], r.gain[ch], r.bias[ch] = 0.5, float32(r.space.Gain[ch]), float32(r.space.Bias[ch])
	}
	r.warped = make([]bool, n)
	return r, nil
}

// rand returns the run's random number generator, seeded by Seed.
func (o *Optimization) rand() *rand.Rand { return rand.New(rand.NewPCG(o.Seed, 0x5eed0f0b1ec7)) }

// withDefaults fills a recipe's zero fields.
func (rec Recipe) withDefaults() Recipe {
	if rec.Param == "" {
		rec.Param = ParamFourier
	}
	if rec.DecayPower == 0 {
		rec.DecayPower = 1
	}
	if rec.InitNoise == 0 {
		rec.InitNoise = 0.01
	}
	if rec.Optimizer == "" {
		rec.Optimizer = "adam"
	}
	if rec.LR == 0 {
		rec.LR = 0.05
	}
	if rec.Steps <= 0 {
		rec.Steps = 128
	}
	return rec
}

// ascend runs the steps and returns how many it took.
func (r *run) ascend(ctx context.Context) (int, error) {
	reg := r.rec.Regularizer
	a := &ascent{steps: r.rec.Steps, v: r.p.vars(), g: r.gv, opt: r.opt,
		gradient: func() ([]float64, error) { return r.gradient(true) },
		before:   func(step int) { r.settling = step > r.rec.Steps-min(r.rec.Settle, r.rec.Steps/8) },
		after: func(step int) {
			r.p.project()
			if reg.active() {
				reg.apply(step, r.p.vars(), r.gpx, r.n, r.c, r.h, r.w)
			}
		},
		images: r.images, every: r.o.Every, onStep: r.o.OnStep, stop: r.o.Stop}
	return a.run(ctx)
}

// ascent is the loop every optimization method shares: steps of gradient
// ascent on v, with cancellation, periodic reports and early stopping.
type ascent struct {
	steps    int
	v, g     []float32
	opt      optimizer
	gradient func() ([]float64, error) // leaves dJ/dv in g
	before   func(step int)            // called before each step's gradient
	after    func(step int)            // projection, regularization
	images   func() []*model.Tensor    // the current images, for reports
	every    int
	onStep   func(*OptProgress) error
	stop     func(*OptProgress) bool
}

// run takes the steps and returns how many it took. It checks ctx before
// each step, so it returns ctx.Err() within one step of a cancellation.
func (a *ascent) run(ctx context.Context) (int, error) {
	for step := 1; step <= a.steps; step++ {
		if err := ctx.Err(); err != nil {
			return step - 1, err
		}
		if a.before != nil {
			a.before(step)
		}
		values, err := a.gradient()
		if err != nil {
			return step - 1, err
		}
		a.opt.step(a.v, a.g)
		if a.after != nil {
			a.after(step)
		}
		pr := &OptProgress{Step: step, Steps: a.steps, Values: values}
		if a.onStep != nil && (step == a.steps || (a.every > 0 && step%a.every == 0)) {
			pr.Images = a.images()
			if err := a.onStep(pr); err != nil {
				return step, err
			}
			pr.Images = nil
		}
		if a.stop != nil && a.stop(pr) {
			return step, nil
		}
	}
	return a.steps, nil
}

// images renders the current images as network inputs.
func (r *run) images() []*model.Tensor {
	r.p.render(r.px)
	return r.rendered()
}

// rendered returns the images of the last render as network inputs.
func (r *run) rendered() []*model.Tensor {
	out := make([]*model.Tensor, r.n)
	for i := range r.n {
		t := model.NewTensor(1, r.c, r.h, r.w)
		r.space.toInput(t.Data, r.px[i*r.chw:(i+1)*r.chw], r.c)
		out[i] = t
	}
	return out
}

// gradient renders the images, runs them (transformed when train is set)
// through the network and the objective, and, when train is set, leaves
// dJ/dpixels in r.gpx and dJ/dvars in r.gv. It returns the objective per
// image.
func (r *run) gradient(train bool) ([]float64, error) {
	m := r.o.Model
	r.p.render(r.px)
	acts := make([]*model.Activations, r.n)
	defer func() {
		for _, a := range acts {
			if a != nil {
				a.Release()
			}
		}
	}()
	tf := r.rec.Transforms
	xs := make([]*model.Tensor, r.n)
	for i := range r.n {
		pxi := r.px[i*r.chw : (i+1)*r.chw]
		if train && tf.active() && !r.settling {
			// Warp the pixels and map them to network inputs in one pass
			// (grey, 0.5, outside the image).
			r.warps[i] = tf.draw(r.rng, r.h, r.w)
			xt := r.xt[i*r.chw : (i+1)*r.chw]
			parallelChunks(r.h, 28, func(lo, hi int) { r.warps[i].applyPlanes(xt, pxi, r.c, r.half, r.gain, r.bias, lo, hi) })
			xs[i] = model.FromData(xt, 1, r.c, r.h, r.w)
			r.warped[i] = true
		} else {
			xi := r.x[i*r.chw : (i+1)*r.chw]
			r.space.toInput(xi, pxi, r.c)
			r.warped[i] = false
			xs[i] = model.FromData(xi, 1, r.c, r.h, r.w)
		}
		t0 := time.Now()
		a, err := m.RunTo(xs[i], r.layers...) // the objective's layers, and what they need
		r.netTime += time.Since(t0)
		if err != nil {
			return nil, err
		}
		acts[i] = a
	}
	t0 := time.Now()
	f, err := gather(acts, r.layers, r.input, r.space)
	if err != nil {
		return nil, err
	}
	f.pool = r.gradPool
	values, err := r.o.Objective.Eval(f, train)
	r.objTime += time.Since(t0)
	if err != nil || !train {
		return values, err
	}
	hw := r.h * r.w
	for i := range r.n {
		seeds := map[string]*model.Tensor{}
		for layer, g := range f.Grads() {
			v, _ := acts[i].Get(layer)
			seeds[layer] = model.FromData(batchItem(g, i), v.Shape...)
		}
		t0 := time.Now()
		grads, err := m.Backward(acts[i], seeds, model.Vanilla, r.input)
		r.netTime += time.Since(t0)
		if err != nil {
			return nil, err
		}
		acts[i].Release()
		acts[i] = nil
		g := grads[r.input].Data
		gpx := r.gpx[i*r.chw : (i+1)*r.chw]
		wp, warped := r.warps[i], r.warped[i]
		// dJ/dpixels = Gain · (the warp's adjoint of) dJ/dinput.
		if warped {
			wp.adjointPlanes(gpx, g, r.c, r.gain, r.spare)
		} else {
			parallelFor(r.c, func(ch int) {
				k := r.gain[ch]
				dst, src := gpx[ch*hw:(ch+1)*hw], g[ch*hw:(ch+1)*hw]
				for j, v := range src {
					dst[j] = v * k
				}
			})
		}
	}
	r.p.backprop(r.gpx, r.gv)
	return values, nil
}

// gather collects the layers' values of n single-image passes into [n, ...]
// features (the tensors themselves when n is 1).
func gather(acts []*model.Activations, layers []string, input string, space PixelSpace) (*Features, error) {
	n := len(acts)
	vals := make(map[string]*model.Tensor, len(layers))
	for _, layer := range layers {
		if _, dup := vals[layer]; dup {
			continue
		}
		var t *model.Tensor
		for i, a := range acts {
			v, err := a.Get(layer)
			if err != nil {
				return nil, err
			}
			if v.DType != model.Float32 || v.Rank() < 1 || v.Shape[0] != 1 {
				return nil, fmt.Errorf("layer %q has value %v; want [1, ...] float32", layer, v)
			}
			if n == 1 {
				t = v
				break
			}
			if t == nil {
				t = model.NewTensor(append([]int{n}, v.Shape[1:]...)...)
			}
			copy(batchItem(t, i), v.Data)
		}
		vals[layer] = t
	}
	return NewFeatures(n, vals, input, space), nil
}

// finish evaluates the objective on the final, untransformed images.
func (r *run) finish() (*OptResult, error) {
	values, err := r.gradient(false)
	if err != nil {
		return nil, err
	}
	// gradient rendered the final variables: no need to render them again.
	return &OptResult{Images: r.rendered(), Values: values, NetTime: r.netTime, ObjTime: r.objTime}, nil
}

// --- optimizers (gradient ascent)

type optimizer interface {
	// step moves v along the ascent direction given the gradient g.
	step(v, g []float32)
}

// Optimizers lists the optimizer names.
func Optimizers() []string { return []string{"adam", "momentum", "sgd", "normalized", "sign"} }

func newOptimizer(name string, lr float64, n int) (optimizer, error) {
	if !(lr > 0) {
		return nil, fmt.Errorf("optimize: the learning rate must be positive, got %g", lr)
	}
	switch name {
	case "adam":
		return &adam{lr: lr, m: make([]float32, n), s: make([]float32, n)}, nil
	case "momentum":
		return &momentum{lr: lr, vel: make([]float64, n)}, nil
	case "sgd":
		return sgd{lr}, nil
	case "normalized":
		return normalized{lr}, nil
	case "sign":
		return signStep{lr}, nil
	}
	return nil, fmt.Errorf("optimize: unknown optimizer %q (want adam, momentum, sgd, normalized or sign)", name)
}

// adam is Kingma & Ba's Adam (β₁ 0.9, β₂ 0.999, ε 1e-8), ascending. Its
// moments are float32 like the variables: half the memory traffic of
// float64 on the ~200k variables of a Fourier image.
type adam struct {
	lr   float64
	m, s []float32
	t    int
}

func (a *adam) step(v, g []float32) {
	a.t++
	c1 := 1 - math.Pow(0.9, float64(a.t))
	c2 := 1 - math.Pow(0.999, float64(a.t))
	// v += lr (m/c1) / (sqrt(s/c2) + ε) = k m / (sqrt(s) + ε sqrt(c2)).
	k := float32(a.lr / c1 * math.Sqrt(c2))
	eps := float32(1e-8 * math.Sqrt(c2))
	parallelRange(len(g), func(lo, hi int) {
		m, s, v, g := a.m[lo:hi], a.s[lo:hi], v[lo:hi], g[lo:hi]
		j := 0
		if useAVX { // kernels_amd64.s, for all but the last few values
			if j = len(g) &^ 7; j > 0 {
				adamAVX(&v[0], &g[0], &m[0], &s[0], j, k, eps)
			}
		}
		for i := j; i < len(g); i++ {
			x := g[i]
			mi := 0.9*m[i] + 0.1*x
			si := 0.999*s[i] + 0.001*x*x
			m[i], s[i] = mi, si
			v[i] += k * mi / (float32(math.Sqrt(float64(si))) + eps)
		}
	})
}

// momentum is heavy-ball gradient ascent: vel = 0.9 vel + lr g; v += vel.
type momentum struct {
	lr  float64
	vel []float64
}

func (o *momentum) step(v, g []float32) {
	for i, gi := range g {
		o.vel[i] = 0.9*o.vel[i] + o.lr*float64(gi)
		v[i] += float32(o.vel[i])
	}
}

// sgd is plain gradient ascent: v += lr g.
type sgd struct{ lr float64 }

func (o sgd) step(v, g []float32) {
	for i, gi := range g {
		v[i] += float32(o.lr * float64(gi))
	}
}

// normalized is DeepDream's step: v += lr g / mean|g|.
type normalized struct{ lr float64 }

func (o normalized) step(v, g []float32) {
	s := 0.0
	for _, gi := range g {
		s += math.Abs(float64(gi))
	}
	if s == 0 {
		return
	}
	k := o.lr * float64(len(g)) / s
	parallelRange(len(g), func(a, b int) {
		for i, gi := range g[a:b] {
			v[a+i] += float32(k * float64(gi))
		}
	})
}

// signStep is the fast gradient sign step: v += lr sign(g).
type signStep struct{ lr float64 }

func (o signStep) step(v, g []float32) {
	for i, gi := range g {
		switch {
		case gi > 0:
			v[i] += float32(o.lr)
		case gi < 0:
			v[i] -= float32(o.lr)
		}
	}
}
