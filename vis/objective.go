package vis

import (
	"fmt"
	"math"
	"strings"

	"github.com/deepscope/deepscope/model"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// Objectives: what the optimizer maximizes. An objective is a function of
// some layers' activations (and of the network input itself, for the image
// priors) for a batch of images; it returns its value per image and adds
// its gradient w.r.t. those layers to Features.Grad, which become the seeds
// of model.Backward. Losses (inversion, style) are maximized negated.

// Objective is a differentiable function of layer activations.
type Objective interface {
	// Layers names the layers the objective reads (the model input is
	// always available through Features.Input).
	Layers() []string
	// Eval returns the objective's value for each of the f.N images; with
	// grad set it also adds d(sum of the values)/d(layer) into f.Grad.
	Eval(f *Features, grad bool) ([]float64, error)
	String() string
}

// Features holds, for a batch of N images, the values of the layers an
// objective reads ([N, ...] each) and the gradients it accumulates.
type Features struct {
	N     int
	input string
	space PixelSpace
	vals  map[string]*model.Tensor
	grads map[string]*model.Tensor
	// pool, when set, lends Grad its buffers from the previous step (by
	// layer) instead of allocating them: Optimize's loop sets it.
	pool map[string]*model.Tensor
}

// NewFeatures returns features holding vals (each [n, ...]); input names
// the model input among them and space maps its values to pixels.
func NewFeatures(n int, vals map[string]*model.Tensor, input string, space PixelSpace) *Features {
	return &Features{N: n, input: input, space: space, vals: vals, grads: map[string]*model.Tensor{}}
}

// Value returns the batch's values of layer.
func (f *Features) Value(layer string) (*model.Tensor, error) {
	v, ok := f.vals[layer]
	if !ok {
		return nil, fmt.Errorf("objective reads layer %q, which was not computed", layer)
	}
	if v.DType != model.Float32 || v.Rank() < 1 || v.Shape[0] != f.N {
		return nil, fmt.Errorf("layer %q has value %v; want [%d, ...] float32", layer, v, f.N)
	}
	return v, nil
}

// Input returns the network input's values and its name.
func (f *Features) Input() (*model.Tensor, string, error) {
	v, err := f.Value(f.input)
	return v, f.input, err
}

// Grad returns the gradient accumulator of layer (zeros at first).
func (f *Features) Grad(layer string) *model.Tensor {
	g, ok := f.grads[layer]
	if !ok {
		shape := f.vals[layer].Shape
		if p := f.pool[layer]; p != nil && model.SameShape(p.Shape, shape) {
			g = p
			clear(g.Data)
		} else {
			g = model.NewTensor(shape...)
			if f.pool != nil {
				f.pool[layer] = g
			}
		}
		f.grads[layer] = g
	}
	return g
}

// Grads returns the accumulated gradients by layer.
func (f *Features) Grads() map[string]*model.Tensor { return f.grads }

// item returns image i's part of a [N, ...] tensor's data.
func batchItem(t *model.Tensor, i int) []float32 {
	k := len(t.Data) / t.Shape[0]
	return t.Data[i*k : (i+1)*k]
}

// --- Unit, channel, position and class activation

// activation maximizes a Target: the mean of a channel (AtSum), its
// strongest position (AtMax), one position (AtPoint) or a class logit.
type activation struct{ t Target }

// Activation returns the objective of a target. For a whole channel it is
// the channel's mean (not its sum, so that weights of combined objectives
// do not depend on the layer's size); otherwise the single value.
func Activation(t Target) Objective { return activation{t} }

func (o activation) Layers() []string { return []string{o.t.Layer} }
func (o activation) String() string   { return o.t.String() }

func (o activation) Eval(f *Features, grad bool) ([]float64, error) {
	v, err := f.Value(o.t.Layer)
	if err != nil {
		return nil, err
	}
	if v.Rank() < 2 || o.t.Unit >= v.Shape[1] {
		return nil, fmt.Errorf("%s: layer has shape %s", o.t, model.ShapeString(v.Shape))
	}
	if o.t.At == AtPoint && (v.Rank() != 4 || o.t.Y >= v.Shape[2] || o.t.X >= v.Shape[3]) {
		return nil, fmt.Errorf("%s: position outside the layer's %s", o.t, model.ShapeString(v.Shape))
	}
	c, p := v.Shape[1], model.NumElements(v.Shape[2:])
	out := make([]float64, f.N)
	for i := range f.N {
		off := (i*c + o.t.Unit) * p
		plane := v.Data[off : off+p]
		lo, hi := o.t.pick(plane, v.Shape)
		s := 0.0
		for _, x := range plane[lo:hi] {
			s += float64(x)
		}
		w := 1 / float64(hi-lo)
		out[i] = s * w
		if grad {
			g := f.Grad(o.t.Layer).Data[off : off+p]
			for j := lo; j < hi; j++ {
				g[j] += float32(w)
			}
		}
	}
	return out, nil
}

// --- Diversity (Olah et al. 2017)

// diversity penalizes the similarity of the images' style at a layer.
type diversity struct {
	layer  string
	weight float64
}

// Diversity returns -weight × D, Lucid's diversity term: with G_i the
// Gram matrix of image i's activations at layer (channels × channels, over
// positions) and Ĝ_i = G_i/‖G_i‖, D = (1/N) Σ_i Σ_{j≠i} <Ĝ_i, Ĝ_j>, the
// mean cosine similarity of the images' styles. Image i's value is its
// share, -weight (1/N) Σ_{j≠i} <Ĝ_i, Ĝ_j>.
func Diversity(layer string, weight float64) Objective { return diversity{layer, weight} }

func (o diversity) Layers() []string { return []string{o.layer} }
func (o diversity) String() string   { return fmt.Sprintf("%g × diversity(%s)", o.weight, o.layer) }

func (o diversity) Eval(f *Features, grad bool) ([]float64, error) {
	v, err := f.Value(o.layer)
	if err != nil {
		return nil, err
	}
	n := f.N
	out := make([]float64, n)
	if n < 2 {
		return out, nil
	}
	c, p := channelsPositions(v.Shape)
	grams := make([][]float32, n)
	norms := make([]float64, n)
	for i := range n {
		grams[i] = gram32(batchItem(v, i), c, p)
		norms[i] = math.Max(norm32(grams[i]), 1e-10)
		scale32(grams[i], 1/norms[i]) // now Ĝ_i
	}
	for i := range n {
		for j := range n {
			if j != i {
				out[i] -= o.weight * dot32(grams[i], grams[j]) / float64(n)
			}
		}
	}
	if !grad {
		return out, nil
	}
	// dJ/dĜ_k = -(2w/N) Σ_{j≠k} Ĝ_j; dJ/dG = (U - Ĝ<Ĝ, U>)/‖G‖;
	// dJ/dF = 2 (dJ/dG) F (G = F Fᵀ, dJ/dG symmetric).
	u := make([]float32, c*c)
	for k := range n {
		clear(u)
		for j := range n {
			if j != k {
				axpy32(u, grams[j], float32(-2*o.weight/float64(n)))
			}
		}
		proj := dot32(grams[k], u)
		for a := range u {
			u[a] = float32((float64(u[a]) - float64(grams[k][a])*proj) / norms[k])
		}
		gemm32(false, false, c, p, c, 2, u, batchItem(v, k), 1, batchItem(f.Grad(o.layer), k))
	}
	return out, nil
}

// channelsPositions splits a [N, C, spatial...] shape into C and the
// number of positions.
func channelsPositions(shape []int) (c, p int) {
	if len(shape) < 2 {
		return 1, model.NumElements(shape[1:])
	}
	return shape[1], model.NumElements(shape[2:])
}

// gram32 returns F Fᵀ for the c x p matrix F (row-major).
func gram32(f []float32, c, p int) []float32 {
	g := make([]float32, c*c)
	gemm32(false, true, c, c, p, 1, f, f, 0, g)
	return g
}

// gemm computes C = alpha op(A) op(B) + beta C for row-major m x k op(A),
// k x n op(B) and m x n C.
func gemm32(transA, transB bool, m, n, k int, alpha float32, a, b []float32, beta float32, c []float32) {
	ta, tb := blas.NoTrans, blas.NoTrans
	ra, ca, rb, cb := m, k, k, n
	if transA {
		ta, ra, ca = blas.Trans, k, m
	}
	if transB {
		tb, rb, cb = blas.Trans, n, k
	}
	blas32.Gemm(ta, tb, alpha,
		blas32.General{Rows: ra, Cols: ca, Stride: ca, Data: a},
		blas32.General{Rows: rb, Cols: cb, Stride: cb, Data: b},
		beta, blas32.General{Rows: m, Cols: n, Stride: n, Data: c})
}

func dot32(a, b []float32) float64 {
	s := 0.0
	for i, x := range a {
		s += float64(x) * float64(b[i])
	}
	return s
}

func norm32(a []float32) float64 { return math.Sqrt(dot32(a, a)) }

func scale32(a []float32, s float64) {
	for i := range a {
		a[i] = float32(float64(a[i]) * s)
	}
}

// axpy adds s·x into y.
func axpy32(y, x []float32, s float32) {
	for i, v := range x {
		y[i] += s * v
	}
}

// --- DeepDream (Mordvintsev et al. 2015)

type dreamObjective struct{ layer string }

// DreamObjective returns ½ mean(a²) over the layer's activations a, whose
// gradient a/size amplifies whatever the layer already sees (DeepDream's
// L2 objective).
func DreamObjective(layer string) Objective { return dreamObjective{layer} }

func (o dreamObjective) Layers() []string { return []string{o.layer} }
func (o dreamObjective) String() string   { return "dream(" + o.layer + ")" }

func (o dreamObjective) Eval(f *Features, grad bool) ([]float64, error) {
	v, err := f.Value(o.layer)
	if err != nil {
		return nil, err
	}
	out := make([]float64, f.N)
	for i := range f.N {
		a := batchItem(v, i)
		w := 1 / float64(len(a))
		out[i] = 0.5 * dot32(a, a) * w
		if grad {
			axpy32(batchItem(f.Grad(o.layer), i), a, float32(w))
		}
	}
	return out, nil
}

// --- Class log-probability (fooling and adversarial images)

type logProb struct {
	layer string
	class int
}

// LogProb returns log softmax(z)_class of the logits z at layer ([N, K],
// or [N, K, 1, ...]); its gradient is onehot(class) - softmax(z).
func LogProb(layer string, class int) Objective { return logProb{layer, class} }

func (o logProb) Layers() []string { return []string{o.layer} }
func (o logProb) String() string   { return fmt.Sprintf("log p(class %d)", o.class) }

func (o logProb) Eval(f *Features, grad bool) ([]float64, error) {
	v, err := f.Value(o.layer)
	if err != nil {
		return nil, err
	}
	k := len(v.Data) / f.N
	if o.class < 0 || o.class >= k {
		return nil, fmt.Errorf("class %d is out of range: %s has %d classes", o.class, o.layer, k)
	}
	out := make([]float64, f.N)
	for i := range f.N {
		z := batchItem(v, i)
		mx := math.Inf(-1)
		for _, x := range z {
			mx = math.Max(mx, float64(x))
		}
		sum := 0.0
		for _, x := range z {
			sum += math.Exp(float64(x) - mx)
		}
		lse := mx + math.Log(sum)
		out[i] = float64(z[o.class]) - lse
		if grad {
			g := batchItem(f.Grad(o.layer), i)
			for j, x := range z {
				g[j] -= float32(math.Exp(float64(x) - lse))
			}
			g[o.class]++
		}
	}
	return out, nil
}

// --- Feature inversion (Mahendran & Vedaldi 2015)

type featureLoss struct {
	layer  string
	target *model.Tensor
	norm   float64
	weight float64
}

// FeatureLoss returns -weight ‖Φ(x) - Φ₀‖² / ‖Φ₀‖², Mahendran & Vedaldi's
// normalized feature reconstruction loss, where Φ is the layer's value and
// Φ₀ = target (one image's value, [1, ...]).
func FeatureLoss(layer string, target *model.Tensor, weight float64) Objective {
	return featureLoss{layer, target, math.Max(dot32(target.Data, target.Data), 1e-30), weight}
}

func (o featureLoss) Layers() []string { return []string{o.layer} }
func (o featureLoss) String() string {
	return fmt.Sprintf("-%g × feature loss(%s)", o.weight, o.layer)
}

func (o featureLoss) Eval(f *Features, grad bool) ([]float64, error) {
	v, err := f.Value(o.layer)
	if err != nil {
		return nil, err
	}
	if len(v.Data) != f.N*len(o.target.Data) {
		return nil, fmt.Errorf("feature loss: layer %s has shape %s, the target %s", o.layer, model.ShapeString(v.Shape), model.ShapeString(o.target.Shape))
	}
	out := make([]float64, f.N)
	for i := range f.N {
		a := batchItem(v, i)
		s := 0.0
		for j, x := range a {
			d := float64(x) - float64(o.target.Data[j])
			s += d * d
		}
		out[i] = -o.weight * s / o.norm
		if grad {
			g := batchItem(f.Grad(o.layer), i)
			k := -2 * o.weight / o.norm
			for j, x := range a {
				g[j] += float32(k * (float64(x) - float64(o.target.Data[j])))
			}
		}
	}
	return out, nil
}

// ReconstructionError returns ‖Φ - Φ₀‖ / ‖Φ₀‖, the normalized feature
// reconstruction error of Mahendran & Vedaldi.
func ReconstructionError(phi, phi0 *model.Tensor) float64 {
	s := 0.0
	for j, x := range phi.Data {
		d := float64(x) - float64(phi0.Data[j])
		s += d * d
	}
	return math.Sqrt(s / math.Max(dot32(phi0.Data, phi0.Data), 1e-30))
}

// --- Style (Gatys et al. 2016)

type gramLoss struct {
	layer  string
	target []float32 // c x c
	norm   float64
	weight float64
}

// GramMatrix returns the c x c Gram matrix F Fᵀ of a one-image layer value
// ([1, C, ...]; F is C x positions): the style representation of Gatys et
// al.
func GramMatrix(v *model.Tensor) []float32 {
	c, p := channelsPositions(v.Shape)
	return gram32(v.Data[:c*p], c, p)
}

// GramLoss returns -weight ‖G - A‖² / ‖A‖², Gatys et al.'s style loss at
// one layer, with G the Gram matrix of the image's activations and A =
// target that of the style image. Gatys et al. divide by 4 C² P² (C
// channels, P positions) instead of ‖A‖²; dividing by ‖A‖² makes the loss
// independent of the layer's scale, so that equal weights mean equal
// importance.
func GramLoss(layer string, target []float32, weight float64) Objective {
	return gramLoss{layer, target, math.Max(dot32(target, target), 1e-30), weight}
}

func (o gramLoss) Layers() []string { return []string{o.layer} }
func (o gramLoss) String() string   { return fmt.Sprintf("-%g × style loss(%s)", o.weight, o.layer) }

func (o gramLoss) Eval(f *Features, grad bool) ([]float64, error) {
	v, err := f.Value(o.layer)
	if err != nil {
		return nil, err
	}
	c, p := channelsPositions(v.Shape)
	if len(o.target) != c*c {
		return nil, fmt.Errorf("style loss: layer %s has %d channels, the style Gram matrix %d values", o.layer, c, len(o.target))
	}
	out := make([]float64, f.N)
	for i := range f.N {
		g := gram32(batchItem(v, i), c, p)
		s := 0.0
		for j, x := range g {
			d := float64(x) - float64(o.target[j])
			g[j] = float32(d)
			s += d * d
		}
		out[i] = -o.weight * s / o.norm
		if grad {
			// dE/dG = 2 (G - A)/‖A‖², symmetric; dE/dF = 2 (dE/dG) F.
			gemm32(false, false, c, p, c, float32(-4*o.weight/o.norm), g, batchItem(v, i), 1, batchItem(f.Grad(o.layer), i))
		}
	}
	return out, nil
}

// --- Image priors on the network input, in pixel units (0..1)

// Constants of Mahendran & Vedaldi's priors, in pixel units: B is the
// typical pixel magnitude about the mean (80 of 255), V = B/6.5 the typical
// size of a natural image's local differences.
const (
	priorB = 80.0 / 255
	priorV = priorB / 6.5
)

type inputPrior struct {
	kind   string // "l2", "alpha" or "tv"
	power  float64
	weight float64
}

// L2Prior returns -weight mean((p - ½)²) over the pixels p (0..1) of the
// network input: the L2 regularizer of Simonyan et al. 2014 (their image is
// mean-subtracted; ½ is grey here).
func L2Prior(weight float64) Objective { return inputPrior{"l2", 2, weight} }

// AlphaPrior returns -weight mean(|p - ½|^α) / B^α, Mahendran & Vedaldi's
// α-norm regularizer (α = 6 in their paper), which keeps pixels within
// range.
func AlphaPrior(alpha, weight float64) Objective { return inputPrior{"alpha", alpha, weight} }

// TVPrior returns -weight mean(((p[y][x+1]-p[y][x])² + (p[y+1][x]-p[y][x])²)^(β/2)) / V^β,
// Mahendran & Vedaldi's total-variation regularizer (β = 2 in their paper),
// which favours piecewise-smooth images. The last row and column, without
// a right or lower neighbour, count differences with themselves (zero).
func TVPrior(beta, weight float64) Objective { return inputPrior{"tv", beta, weight} }

func (o inputPrior) Layers() []string { return nil }

func (o inputPrior) String() string {
	switch o.kind {
	case "l2":
		return fmt.Sprintf("-%g × L2 prior", o.weight)
	case "alpha":
		return fmt.Sprintf("-%g × α-norm prior (α=%g)", o.weight, o.power)
	}
	return fmt.Sprintf("-%g × TV prior (β=%g)", o.weight, o.power)
}

func (o inputPrior) Eval(f *Features, grad bool) ([]float64, error) {
	x, name, err := f.Input()
	if err != nil {
		return nil, err
	}
	if x.Rank() != 4 {
		return nil, fmt.Errorf("%s needs an image input, got %s", o, model.ShapeString(x.Shape))
	}
	c, h, w := x.Shape[1], x.Shape[2], x.Shape[3]
	hw := h * w
	sp := f.space.fit(c)
	out := make([]float64, f.N)
	px := make([]float64, c*hw)
	gp := make([]float64, c*hw)
	count := float64(c * hw)
	for i := range f.N {
		xi := batchItem(x, i)
		for ch := range c {
			for j := range hw {
				px[ch*hw+j] = (float64(xi[ch*hw+j]) - sp.Bias[ch]) / sp.Gain[ch]
			}
		}
		clear(gp)
		s := 0.0
		switch o.kind {
		case "l2", "alpha":
			b := 1.0
			if o.kind == "alpha" {
				b = math.Pow(priorB, o.power)
			}
			for j, p := range px {
				d := p - 0.5
				a := math.Abs(d)
				s += math.Pow(a, o.power)
				if a > 0 {
					gp[j] = -o.weight * o.power * math.Pow(a, o.power-1) * math.Copysign(1, d) / (b * count)
				}
			}
			s /= b
		case "tv":
			vb := math.Pow(priorV, o.power)
			for ch := range c {
				p := px[ch*hw : (ch+1)*hw]
				g := gp[ch*hw : (ch+1)*hw]
				for y := range h {
					for xx := range w {
						j := y*w + xx
						dx, dy := 0.0, 0.0
						if xx+1 < w {
							dx = p[j+1] - p[j]
						}
						if y+1 < h {
							dy = p[j+w] - p[j]
						}
						r := dx*dx + dy*dy
						s += math.Pow(r, o.power/2)
						if r == 0 {
							continue
						}
						// d r^(β/2) = (β/2) r^(β/2-1) dr
						k := -o.weight * o.power * math.Pow(r, o.power/2-1) / (vb * count)
						if xx+1 < w {
							g[j+1] += k * dx
							g[j] -= k * dx
						}
						if y+1 < h {
							g[j+w] += k * dy
							g[j] -= k * dy
						}
					}
				}
			}
			s /= vb
		default:
			return nil, fmt.Errorf("unknown prior %q", o.kind)
		}
		out[i] = -o.weight * s / count
		if grad {
			gx := batchItem(f.Grad(name), i)
			for ch := range c {
				for j := range hw {
					gx[ch*hw+j] += float32(gp[ch*hw+j] / sp.Gain[ch])
				}
			}
		}
	}
	return out, nil
}

// --- Combinations

type sumObjective []Objective

// Sum returns the sum of objectives.
func Sum(objs ...Objective) Objective { return sumObjective(objs) }

func (o sumObjective) Layers() []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range o {
		for _, l := range t.Layers() {
			if !seen[l] {
				seen[l] = true
				out = append(out, l)
			}
		}
	}
	return out
}

func (o sumObjective) String() string {
	s := make([]string, len(o))
	for i, t := range o {
		s[i] = t.String()
	}
	return strings.Join(s, " + ")
}

func (o sumObjective) Eval(f *Features, grad bool) ([]float64, error) {
	out := make([]float64, f.N)
	for _, t := range o {
		v, err := t.Eval(f, grad)
		if err != nil {
			return nil, err
		}
		for i := range out {
			out[i] += v[i]
		}
	}
	return out, nil
}

type scaledObjective struct {
	w   float64
	obj Objective
}

// Scaled returns w × obj (w < 0 turns a score into a loss to minimize).
func Scaled(w float64, obj Objective) Objective { return scaledObjective{w, obj} }

func (o scaledObjective) Layers() []string { return o.obj.Layers() }
func (o scaledObjective) String() string   { return fmt.Sprintf("%g × (%s)", o.w, o.obj) }

func (o scaledObjective) Eval(f *Features, grad bool) ([]float64, error) {
	if !grad {
		v, err := o.obj.Eval(f, false)
		for i := range v {
			v[i] *= o.w
		}
		return v, err
	}
	// Evaluate into fresh accumulators, then add w times them.
	inner := &Features{N: f.N, input: f.input, space: f.space, vals: f.vals, grads: map[string]*model.Tensor{}}
	v, err := o.obj.Eval(inner, true)
	if err != nil {
		return nil, err
	}
	for layer, g := range inner.grads {
		axpy32(f.Grad(layer).Data, g.Data, float32(o.w))
	}
	for i := range v {
		v[i] *= o.w
	}
	return v, nil
}
