// Package vis computes the gradient, CAM and perturbation visualizations
// of a CNN classifier's class or unit: saliency, deconvnet, guided
// backpropagation, gradient x input, Grad-CAM, guided Grad-CAM, Grad-CAM++,
// Score-CAM, CAM, SmoothGrad, integrated gradients and occlusion. Each
// method lives in its own file whose doc comment states its formula and
// paper; all run on the engine in package model (forward passes and
// model.Backward) and return a raw Map, which Render turns into a picture.
//
// Methods are looked up by name (Lookup, Methods) and computed with a
// context, so that a user interface can run them in the background, show
// their progress and cancel them.
package vis

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"weak"

	"github.com/deepscope/deepscope/model"
)

// Kind says how a Map relates to the network input.
type Kind int

const (
	// InputMap is a C x H x W map over the network input's values (the
	// gradient family). Render shows it in a display Mode.
	InputMap Kind = iota
	// HeatMap is an h x w grid of scores over the input (the CAM family at
	// a layer's resolution, occlusion on its grid). Render upsamples it
	// bilinearly and blends it over the input with a colormap.
	HeatMap
)

// Map is a method's raw result, before any display step.
type Map struct {
	Method string
	Kind   Kind
	// Data is C x H x W for an InputMap (the network input's layout without
	// the batch dimension) and h x w for a HeatMap.
	Data *model.Tensor
	// Height and Width are the network input's spatial size.
	Height, Width int
	// Origin and Step place a HeatMap over the input: the centre of cell
	// (i, j) lies at input pixel (Origin[0] + i*Step[0], Origin[1] +
	// j*Step[1]), pixel k spanning [k-0.5, k+0.5]. For a layer of size
	// h x w over an H x W input, Step = H/h and Origin = (Step-1)/2, which
	// makes Upsample PyTorch's bilinear interpolation with
	// align_corners=False.
	Origin, Step [2]float64
	// Layer is the layer a CAM-family map was computed at.
	Layer string
	// Score is the target's value on the unmodified input.
	Score float64
	// Mode is the default display mode of an InputMap (see Render).
	Mode string
}

// Request is one visualization to compute. Zero values of the optional
// fields select the defaults given.
type Request struct {
	Model *model.Model
	// Input is the network input, of the model's input shape
	// [1, C, H, W].
	Input  *model.Tensor
	Target Target
	// CamLayer is the layer of gradcam, gradcam++, guided-gradcam and
	// scorecam; "" selects DefaultCamLayer.
	CamLayer string
	// Samples is SmoothGrad's number of noisy copies (50).
	Samples int
	// Sigma is SmoothGrad's noise level as a fraction of the input's
	// max - min (0.15).
	Sigma float64
	// Seed seeds SmoothGrad's noise (see Noise).
	Seed uint64
	// Noise, when set, replaces Noise(Seed, i, dst) as the source of
	// SmoothGrad's standard normal values for sample i, e.g. to share a
	// reference implementation's samples.
	Noise func(i int, dst []float32)
	// Steps is the number of integrated-gradients steps (50).
	Steps int
	// Patch and Stride are the occlusion patch's side and step in input
	// pixels (32 and 8).
	Patch, Stride int
	// Batch caps the copies of the input one forward pass takes in the
	// methods that run many (0: as many as fit the memory budget, when the
	// model accepts a batch at all).
	Batch int
	// Progress, when set, is called from the computing goroutine after
	// each forward pass (or batch of them) of a long method with the
	// number of copies done and the total.
	Progress func(done, total int)
}

// Method is one visualization method. Compute is safe to call
// concurrently; it returns ctx.Err() soon after ctx is cancelled.
type Method interface {
	// Name is the method's command-line name, e.g. "gradcam".
	Name() string
	Compute(ctx context.Context, r *Request) (*Map, error)
}

var registry = map[string]Method{}

// register adds a method to the registry; method files call it from init.
func register(m Method) {
	if _, dup := registry[m.Name()]; dup || !slices.Contains(Names(), m.Name()) {
		panic("vis: method registered twice or missing from Names: " + m.Name())
	}
	registry[m.Name()] = m
}

// Names lists the method names in display order.
func Names() []string {
	return []string{"saliency", "deconv", "guided", "gradxinput", "smoothgrad", "ig",
		"gradcam", "guided-gradcam", "gradcam++", "scorecam", "cam", "occlusion"}
}

// Methods returns every method in display order.
func Methods() []Method {
	var out []Method
	for _, name := range Names() {
		if m, ok := registry[name]; ok {
			out = append(out, m)
		}
	}
	return out
}

// Lookup returns the method with the given name.
func Lookup(name string) (Method, error) {
	if m, ok := registry[name]; ok {
		return m, nil
	}
	return nil, fmt.Errorf("unknown method %q (want one of %s)", name, strings.Join(Names(), ", "))
}

// check validates the request's model, input and target.
func (r *Request) check() error {
	if r.Model == nil || r.Input == nil {
		return fmt.Errorf("vis: the request needs a model and an input")
	}
	in := r.Model.Input()
	x := r.Input
	if x.DType != model.Float32 || x.Rank() != 4 || x.Shape[0] != 1 || len(x.Data) != x.Len() {
		return fmt.Errorf("the input must be a 1xCxHxW float32 tensor, got %v", x)
	}
	if !model.SameShape(x.Shape, in.Shape) {
		return fmt.Errorf("the input has shape %s; the model's input %q wants %s", model.ShapeString(x.Shape), in.Name, model.ShapeString(in.Shape))
	}
	if r.Target.Layer == "" {
		return fmt.Errorf("vis: the request has no target")
	}
	return r.Target.check(r.Model)
}

// inputMap wraps a [1, C, H, W] (or [C, H, W]) tensor as an InputMap.
func (r *Request) inputMap(method, mode string, g *model.Tensor, score float64) *Map {
	c, h, w := r.Input.Shape[1], r.Input.Shape[2], r.Input.Shape[3]
	return &Map{Method: method, Kind: InputMap, Data: model.FromData(g.Data[:c*h*w], c, h, w),
		Height: h, Width: w, Score: score, Mode: mode}
}

// heatMap wraps an h x w grid computed at a layer as a HeatMap placed over
// the input like the layer's cells.
func (r *Request) heatMap(method, layer string, data []float32, h, w int, score float64) *Map {
	H, W := r.Input.Shape[2], r.Input.Shape[3]
	sy, sx := float64(H)/float64(h), float64(W)/float64(w)
	m := &Map{Method: method, Kind: HeatMap, Height: H, Width: W,
		Origin: [2]float64{(sy - 1) / 2, (sx - 1) / 2}, Step: [2]float64{sy, sx}, Layer: layer, Score: score}
	if data == nil {
		m.Data = &model.Tensor{Shape: []int{h, w}} // geometry only
	} else {
		m.Data = model.FromData(data, h, w)
	}
	return m
}

// pass is one forward pass with the target's scores (one per batch item)
// and, from gradients, the target's gradients of the wanted layers.
type pass struct {
	acts   *model.Activations
	scores []float64
	grads  map[string]*model.Tensor
}

// forward runs the model on x (any batch size) and scores the target.
// The caller releases p.acts.
func (r *Request) forward(x *model.Tensor) (*pass, error) {
	a, err := r.Model.Run(x)
	if err != nil {
		return nil, err
	}
	s, err := r.Target.Scores(a)
	if err != nil {
		a.Release()
		return nil, err
	}
	return &pass{acts: a, scores: s}, nil
}

// gradients runs a forward pass on x and backpropagates the target (each
// batch item's own) in mode to the wanted layers. The caller releases
// p.acts.
func (r *Request) gradients(x *model.Tensor, mode model.Mode, want ...string) (*pass, error) {
	p, err := r.forward(x)
	if err != nil {
		return nil, err
	}
	seed, err := r.Target.Seed(p.acts)
	if err == nil {
		p.grads, err = r.Model.Backward(p.acts, map[string]*model.Tensor{r.Target.Layer: seed}, mode, want...)
	}
	if err != nil {
		p.acts.Release()
		return nil, err
	}
	return p, nil
}

// inputGradient is the gradient of the target w.r.t. the input in mode,
// with the target's score.
func (r *Request) inputGradient(ctx context.Context, mode model.Mode) (*model.Tensor, float64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	name := r.Model.Input().Name
	p, err := r.gradients(r.Input, mode, name)
	if err != nil {
		return nil, 0, err
	}
	p.acts.Release()
	return p.grads[name], p.scores[0], nil
}

// progress counts a long method's forward passes, reports them and checks
// for cancellation.
type progress struct {
	ctx         context.Context
	fn          func(done, total int)
	done, total int
}

func (r *Request) progress(ctx context.Context, total int) *progress {
	return &progress{ctx: ctx, fn: r.Progress, total: total}
}

// add records n more copies done and returns ctx.Err().
func (p *progress) add(n int) error {
	p.done += n
	if p.fn != nil {
		p.fn(p.done, p.total)
	}
	return p.ctx.Err()
}

// batchBudget bounds the activations of one batched forward pass.
const batchBudget = 512 << 20

// maxBatch bounds the copies per forward pass.
const maxBatch = 32

// batchable caches, per model, whether it takes a batch of inputs. Its
// keys are weak, and an entry goes when its model is collected, so that
// the explorer opening model after model (or evaluate's randomized copies)
// keeps no model alive.
var batchable sync.Map // weak.Pointer[model.Model] -> bool

// batchSize returns how many copies of the input one forward pass takes:
// 1 when the model's batch dimension is fixed (or batching would break its
// graph, e.g. a Reshape to a fixed batch of 1), else as many as fit
// batchBudget, capped by maxBatch, r.Batch and want.
func (r *Request) batchSize(want int) int {
	limit := min(want, maxBatch)
	if r.Batch > 0 {
		limit = min(limit, r.Batch)
	}
	if limit <= 1 || !acceptsBatch(r.Model) {
		return 1
	}
	per := 0
	for _, l := range r.Model.Layers {
		per += 4 * model.NumElements(l.Shape)
	}
	return max(1, min(limit, batchBudget/max(per, 1)))
}

// acceptsBatch reports whether m runs a batch of two inputs with every
// float layer keeping the batch apart (its leading dimension 2 where a
// single input gives 1). The answer is cached per model.
func acceptsBatch(m *model.Model) bool {
	key := weak.Make(m)
	if ok, found := batchable.Load(key); found {
		return ok.(bool)
	}
	ok := probeBatch(m)
	if _, loaded := batchable.LoadOrStore(key, ok); !loaded {
		runtime.AddCleanup(m, func(k weak.Pointer[model.Model]) { batchable.Delete(k) }, key)
	}
	return ok
}

func probeBatch(m *model.Model) bool {
	in := m.Input()
	if in.DType != model.Float32 || len(in.Shape) < 2 || in.Shape[0] != 1 {
		return false
	}
	shape := append([]int{2}, in.Shape[1:]...)
	a, err := m.Run(model.NewTensor(shape...))
	if err != nil {
		return false
	}
	defer a.Release()
	for _, l := range m.Layers {
		if l.DType != model.Float32 || len(l.Shape) < 2 || l.Shape[0] != 1 {
			continue
		}
		v, err := a.Get(l.Name)
		if err != nil || v.Rank() != len(l.Shape) || v.Shape[0] != 2 || !model.SameShape(v.Shape[1:], l.Shape[1:]) {
			return false
		}
	}
	return true
}

// Scores returns the target's score on n variants of the input, written
// by fill into dst (a buffer of the input's size, holding whatever the
// previous variant left there), e.g. the perturbed inputs of occlusion or
// of deletion and insertion curves. The variants are batched when the
// model takes a batch; r.Progress sees each pass, and cancelling ctx stops
// at the next one.
func (r *Request) Scores(ctx context.Context, n int, fill func(i int, dst []float32)) ([]float64, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	out := make([]float64, n)
	err := r.batches(ctx, n, false, model.Vanilla, nil, fill, func(first int, p *pass) error {
		copy(out[first:], p.scores)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// batches feeds total copies of the input through the model, b at a time
// (b from batchSize): fill writes copy i (0 <= i < total) into dst, a
// buffer of the input's size; each pass's result goes to use with the index
// of its first copy. With backward set, the pass also backpropagates in
// mode to the wanted layers. Buffers are reused from pass to pass.
func (r *Request) batches(ctx context.Context, total int, backward bool, mode model.Mode, want []string,
	fill func(i int, dst []float32), use func(first int, p *pass) error) error {
	prog := r.progress(ctx, total)
	if err := ctx.Err(); err != nil {
		return err
	}
	b := r.batchSize(total)
	n := r.Input.Len()
	buf := make([]float32, b*n)
	for first := 0; first < total; first += b {
		k := min(b, total-first)
		for j := range k {
			fill(first+j, buf[j*n:(j+1)*n])
		}
		x := model.FromData(buf[:k*n], append([]int{k}, r.Input.Shape[1:]...)...)
		var p *pass
		var err error
		if backward {
			p, err = r.gradients(x, mode, want...)
		} else {
			p, err = r.forward(x)
		}
		if err != nil {
			return err
		}
		err = use(first, p)
		p.acts.Release()
		if err != nil {
			return err
		}
		if err := prog.add(k); err != nil {
			return err
		}
	}
	return nil
}
