package vis

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/deepscope/deepscope/model"
)

// Attack is an adversarial perturbation of an image (Goodfellow, Shlens &
// Szegedy 2015, "Explaining and Harnessing Adversarial Examples"; Madry et
// al. 2018, "Towards Deep Learning Models Resistant to Adversarial
// Attacks"): a change of at most Epsilon per pixel (L∞) that changes the
// prediction. Untargeted attacks ascend the cross-entropy of the clean
// prediction, targeted ones the log probability of Target.
//
//   - FGSM: one step x + ε sign(∇).
//   - PGD: from a uniformly random point of the ε-ball, Steps steps of
//     StepSize sign(∇), each projected back onto the ball and the pixel
//     range.
//
// The clean image is first rounded to 8-bit pixels and so is the result,
// as a PNG stores them; success is judged on the rounded result.
type Attack struct {
	Model *model.Model
	Space PixelSpace
	// Image is the clean network input [1, C, H, W].
	Image *model.Tensor
	// Epsilon is the L∞ bound in pixel units (2/255: two levels).
	Epsilon float64
	// Target is the class to reach, or -1 for any other than the clean
	// prediction.
	Target int
	// Method is "pgd" (default) or "fgsm".
	Method string
	// Steps (10) and StepSize (2.5 ε / Steps) of PGD.
	Steps    int
	StepSize float64
	Seed     uint64
}

// AttackResult is the outcome of an attack.
type AttackResult struct {
	// Image is the adversarial network input, rounded to 8-bit pixels.
	Image *model.Tensor
	// Delta is the perturbation in pixel units (C x H x W), Linf its
	// largest magnitude.
	Delta []float32
	Linf  float64
	// Clean and Adversarial are the predicted classes, CleanProb and
	// AdvProb their probabilities; TargetProb is the target's probability
	// on the adversarial image (targeted attacks).
	Clean, Adversarial int
	CleanProb, AdvProb float64
	TargetProb         float64
	Success            bool
	Steps              int
}

// Run attacks.
func (a *Attack) Run(ctx context.Context) (*AttackResult, error) {
	m := a.Model
	if m == nil || a.Image == nil {
		return nil, fmt.Errorf("adversarial: needs a model and an image")
	}
	if !(a.Epsilon > 0 && a.Epsilon <= 1) {
		return nil, fmt.Errorf("adversarial: epsilon must be in (0, 1] (pixel units, e.g. 2/255), got %g", a.Epsilon)
	}
	in := m.Input()
	if !model.SameShape(a.Image.Shape, in.Shape) {
		return nil, fmt.Errorf("adversarial: the image has shape %s, the model wants %s", model.ShapeString(a.Image.Shape), model.ShapeString(in.Shape))
	}
	c := in.Shape[1]
	space := a.Space.fit(c)
	clean := Quantize(a.Image, space)
	probs, err := ClassProbs(m, clean)
	if err != nil {
		return nil, err
	}
	res := &AttackResult{Clean: Argmax(probs)}
	res.CleanProb = probs[res.Clean]
	if a.Target >= len(probs) {
		return nil, fmt.Errorf("adversarial: target class %d is out of range: the model has %d classes", a.Target, len(probs))
	}
	logits := LogitLayer(m)
	var obj Objective
	if a.Target >= 0 {
		obj = LogProb(logits, a.Target)
	} else {
		obj = Scaled(-1, LogProb(logits, res.Clean))
	}
	eps := float32(a.Epsilon)
	p0 := make([]float32, len(clean.Data))
	space.toPixels(p0, clean.Data, c)
	lo, hi := make([]float32, len(p0)), make([]float32, len(p0))
	for i, p := range p0 {
		lo[i], hi[i] = max(0, p-eps), min(1, p+eps)
	}
	steps, step := a.Steps, a.StepSize
	start := clean
	switch a.Method {
	case "", "pgd":
		if steps <= 0 {
			steps = 10
		}
		if step <= 0 {
			step = 2.5 * a.Epsilon / float64(steps)
		}
		// A uniformly random start in the ball.
		rng := rand.New(rand.NewPCG(a.Seed, 0xad7e5a1))
		px := make([]float32, len(p0))
		for i, p := range p0 {
			px[i] = min(hi[i], max(lo[i], p+eps*float32(2*rng.Float64()-1)))
		}
		start = model.NewTensor(clean.Shape...)
		space.toInput(start.Data, px, c)
	case "fgsm":
		steps, step = 1, a.Epsilon
	default:
		return nil, fmt.Errorf("adversarial: unknown method %q (want pgd or fgsm)", a.Method)
	}
	o := &Optimization{Model: m, Space: space, Objective: obj, Init: start, lo: lo, hi: hi,
		Recipe: Recipe{Param: ParamPixel, Optimizer: "sign", LR: step, Steps: steps}}
	out, err := Optimize(ctx, o)
	if err != nil {
		return nil, err
	}
	res.Steps = out.Steps
	// Round to 8 bits, moving towards the clean pixel where rounding
	// would leave the ball (epsilon not a whole number of levels).
	adv := out.Images[0]
	px := make([]float32, len(p0))
	space.toPixels(px, adv.Data, c)
	res.Delta = make([]float32, len(px))
	for i, p := range px {
		q := float32(math.Round(float64(p)*255) / 255)
		if q > hi[i]+1e-6 {
			q -= 1.0 / 255
		} else if q < lo[i]-1e-6 {
			q += 1.0 / 255
		}
		px[i] = q
		res.Delta[i] = q - p0[i]
		res.Linf = math.Max(res.Linf, math.Abs(float64(res.Delta[i])))
	}
	res.Image = model.NewTensor(clean.Shape...)
	space.toInput(res.Image.Data, px, c)
	probs, err = ClassProbs(m, res.Image)
	if err != nil {
		return nil, err
	}
	res.Adversarial = Argmax(probs)
	res.AdvProb = probs[res.Adversarial]
	if a.Target >= 0 {
		res.TargetProb = probs[a.Target]
		res.Success = res.Adversarial == a.Target
	} else {
		res.Success = res.Adversarial != res.Clean
	}
	return res, nil
}
