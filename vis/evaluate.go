package vis

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/deepscope/deepscope/model"
)

// DefaultCurveSteps is the number of steps of the deletion and insertion
// curves when CurveOptions.Steps is 0.
const DefaultCurveSteps = 32

// CurveOptions tune DeletionInsertion. Zero values select the defaults.
type CurveOptions struct {
	// Steps is the number K of steps of each curve (DefaultCurveSteps); the
	// curves have K+1 points.
	Steps int
	// BlurSigma is the σ in input pixels of the Gaussian blur insertion
	// starts from (5·min(H, W)/224, RISE's σ = 5 at 224 x 224). A negative
	// value starts insertion from the unblurred baseline 0 instead.
	BlurSigma float64
}

// Curves are a map's deletion and insertion curves.
type Curves struct {
	// Fraction[k] is the fraction of pixels changed at step k (0 .. 1).
	Fraction []float64
	// Deletion[k] and Insertion[k] are the target class's probability (the
	// raw target score for a unit target) at step k.
	Deletion, Insertion []float64
	// DeletionAUC and InsertionAUC are the areas under the curves over the
	// fraction of pixels: lower deletion and higher insertion are better.
	DeletionAUC, InsertionAUC float64
	// Probability says whether the curves are class probabilities (class
	// targets) or raw target scores (unit targets).
	Probability bool
}

// PixelSaliency reduces a map to one score per input pixel (H x W,
// row-major), the order DeletionInsertion ranks: max over channels of |v|
// for an InputMap (Simonyan et al.'s saliency map), and the map upsampled
// bilinearly to the input's size (Map.Upsample) for a HeatMap.
func PixelSaliency(m *Map) ([]float32, error) {
	if m == nil || m.Data == nil {
		return nil, fmt.Errorf("pixel saliency: no map")
	}
	switch m.Kind {
	case InputMap:
		d := m.Data
		if d.Rank() != 3 || d.Shape[1] != m.Height || d.Shape[2] != m.Width || len(d.Data) != d.Len() {
			return nil, fmt.Errorf("pixel saliency: %s input map is %v, want C x %d x %d", m.Method, d, m.Height, m.Width)
		}
		hw := m.Height * m.Width
		out := make([]float32, hw)
		for c := range d.Shape[0] {
			for i, v := range d.Data[c*hw : (c+1)*hw] {
				out[i] = max(out[i], float32(math.Abs(float64(v))))
			}
		}
		return out, nil
	case HeatMap:
		if up := m.Upsample(); up != nil {
			return up, nil
		}
	}
	return nil, fmt.Errorf("pixel saliency: %s map %v cannot be placed over the input", m.Method, m.Data)
}

// RandomSaliency returns H x W independent uniform scores from seed: a
// random pixel order, the baseline a method's curves should beat.
func RandomSaliency(h, w int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	out := make([]float32, h*w)
	for i := range out {
		out[i] = rng.Float32()
	}
	return out
}

// rankPixels returns the pixel indexes by decreasing saliency, ties (and
// NaNs, last) in pixel order.
func rankPixels(sal []float32) []int {
	order := make([]int, len(sal))
	for i := range order {
		order[i] = i
	}
	key := func(i int) float64 {
		if v := float64(sal[i]); !math.IsNaN(v) {
			return v
		}
		return math.Inf(-1)
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(key(b), key(a)) })
	return order
}

// DeletionInsertion computes the deletion and insertion curves of the
// pixel saliency sal (H x W, e.g. from PixelSaliency) for the request's
// input and target. The curves (Petsiuk, Das & Saenko 2018, "RISE:
// Randomized Input Sampling for Explanation of Black-box Models") measure
// how faithful a saliency map is to the network: the input's H x W pixels
// are ranked by the map, most salient first (ties in pixel order), and for
// k = 0 .. K (K = Steps) the first n_k = ⌊k·HW/K⌋ of them are changed in
// every channel:
//
//	deletion:  x_k = x with its first n_k pixels set to 0 (the baseline of
//	           the network's input space: the dataset mean for
//	           mean-subtracted inputs)
//	insertion: x_k = blur(x) with its first n_k pixels set back to x's
//
// recording p_k = softmax(z(x_k))_c, the probability of the target class c
// (the raw target score for a unit target). Each curve's area is the
// trapezoid rule over the fraction of pixels changed, f_k = n_k / HW:
//
//	AUC = Σ_k (f_{k+1} - f_k) (p_k + p_{k+1}) / 2
//
// A faithful map makes the probability fall fast on deletion (low AUC) and
// rise fast on insertion (high AUC). blur is a Gaussian of σ = 5 pixels at
// 224 x 224 (RISE's σ, scaled with the input's size), see CurveOptions.
//
// The 2(K+1) inputs are batched when the model takes a batch, and
// cancelling ctx stops at the next forward pass.
func (r *Request) DeletionInsertion(ctx context.Context, sal []float32, opt CurveOptions) (*Curves, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	c, h, w := r.Input.Shape[1], r.Input.Shape[2], r.Input.Shape[3]
	hw := h * w
	if len(sal) != hw {
		return nil, fmt.Errorf("deletion/insertion: the saliency has %d values; the input has %d x %d pixels", len(sal), h, w)
	}
	steps := opt.Steps
	if steps == 0 {
		steps = DefaultCurveSteps
	}
	if steps < 1 {
		return nil, fmt.Errorf("deletion/insertion: steps must be at least 1, got %d", steps)
	}
	sigma := opt.BlurSigma
	if sigma == 0 {
		sigma = 5 * float64(min(h, w)) / 224
	}
	x := r.Input.Data
	blurred := make([]float32, len(x))
	if sigma > 0 {
		plane := make([]float64, hw)
		for ch := range c {
			for i, v := range x[ch*hw : (ch+1)*hw] {
				plane[i] = float64(v)
			}
			gaussianBlur(plane, h, w, sigma)
			for i, v := range plane {
				blurred[ch*hw+i] = float32(v)
			}
		}
	}
	order := rankPixels(sal)
	count := func(k int) int { return k * hw / steps }

	// Copies 0..steps are the deletion curve, steps+1..2·steps+1 insertion.
	n := steps + 1
	probs := make([]float64, 2*n)
	err := r.batches(ctx, 2*n, false, model.Vanilla, nil, func(i int, dst []float32) {
		if i < n { // deletion: zeros over x
			copy(dst, x)
			for _, p := range order[:count(i)] {
				for ch := range c {
					dst[ch*hw+p] = 0
				}
			}
			return
		}
		copy(dst, blurred) // insertion: x over blur(x)
		for _, p := range order[:count(i-n)] {
			for ch := range c {
				dst[ch*hw+p] = x[ch*hw+p]
			}
		}
	}, func(first int, p *pass) error {
		v, err := r.probabilities(p)
		if err != nil {
			return err
		}
		copy(probs[first:], v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	cv := &Curves{Fraction: make([]float64, n), Deletion: probs[:n], Insertion: probs[n:], Probability: r.Target.Class}
	for k := range n {
		cv.Fraction[k] = float64(count(k)) / float64(hw)
	}
	cv.DeletionAUC, cv.InsertionAUC = trapezoid(cv.Fraction, cv.Deletion), trapezoid(cv.Fraction, cv.Insertion)
	return cv, nil
}

// probabilities returns, for each batch item of p, the softmax probability
// of a class target over the logit layer's channels (each summed over its
// positions, if any), or the raw target score for a unit target.
func (r *Request) probabilities(p *pass) ([]float64, error) {
	if !r.Target.Class {
		return p.scores, nil
	}
	v, n, c, sp, err := r.Target.value(p.acts)
	if err != nil {
		return nil, err
	}
	out := make([]float64, n)
	z := make([]float64, c)
	for i := range n {
		for j := range c {
			s := 0.0
			for _, x := range v.Data[(i*c+j)*sp : (i*c+j+1)*sp] {
				s += float64(x)
			}
			z[j] = s
		}
		out[i] = softmaxAt(z, r.Target.Unit)
	}
	return out, nil
}

// softmaxAt returns softmax(z)[j], computed stably.
func softmaxAt(z []float64, j int) float64 {
	top := math.Inf(-1)
	for _, v := range z {
		top = math.Max(top, v)
	}
	sum := 0.0
	for _, v := range z {
		sum += math.Exp(v - top)
	}
	return math.Exp(z[j]-top) / sum
}

// trapezoid integrates y over x by the trapezoid rule.
func trapezoid(x, y []float64) float64 {
	a := 0.0
	for k := 0; k+1 < len(x); k++ {
		a += (x[k+1] - x[k]) * (y[k] + y[k+1]) / 2
	}
	return a
}
