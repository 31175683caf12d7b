package vis

import (
	"context"
	"math/rand/v2"

	"github.com/deepscope/deepscope/model"
)

// SmoothGrad averages vanilla gradients over noisy copies of the input
// (Smilkov, Thorat, Kim, Viégas & Wattenberg 2017, "SmoothGrad: removing
// noise by adding noise"):
//
//	map = (1/n) Σ_{i<n} ∂S/∂x (x + σ ε_i),   σ = Sigma · (max x - min x)
//
// with n = Samples (50), Sigma 0.15 and ε_i the standard normal values
// Noise(Seed, i), one per input value (or Request.Noise's, when set).
// Shown as max over channels of |map| (gray).
type SmoothGrad struct{}

func init() { register(SmoothGrad{}) }

// Name returns "smoothgrad".
func (SmoothGrad) Name() string { return "smoothgrad" }

// Noise fills dst with the standard normal values ε_i of SmoothGrad sample
// i for seed: a PCG stream seeded with (seed, i), in the input's row-major
// order. It lets a reference implementation reuse the exact samples.
func Noise(seed uint64, i int, dst []float32) {
	rng := rand.New(rand.NewPCG(seed, uint64(i)))
	for j := range dst {
		dst[j] = float32(rng.NormFloat64())
	}
}

// Compute returns the mean gradient over the noisy copies.
func (SmoothGrad) Compute(ctx context.Context, r *Request) (*Map, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	n := r.Samples
	if n <= 0 {
		n = 50
	}
	frac := r.Sigma
	if frac <= 0 {
		frac = 0.15
	}
	x := r.Input.Data
	lo, hi := x[0], x[0]
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	sigma := float32(frac * float64(hi-lo))
	noise := r.Noise
	if noise == nil {
		noise = func(i int, dst []float32) { Noise(r.Seed, i, dst) }
	}
	name := r.Model.Input().Name
	sum := make([]float64, len(x))
	stop := make(chan struct{})
	defer close(stop)
	eps, done := drawAhead(n, len(x), noise, stop)
	err := r.batches(ctx, n, true, model.Vanilla, []string{name},
		func(_ int, dst []float32) { // called for samples 0..n-1 in order
			e := <-eps
			for j, v := range x {
				dst[j] = v + sigma*e[j]
			}
			done <- e
		},
		func(_ int, p *pass) error {
			accumulate(sum, p.grads[name].Data)
			return nil
		})
	if err != nil {
		return nil, err
	}
	clean, err := r.forward(r.Input)
	if err != nil {
		return nil, err
	}
	clean.acts.Release()
	return r.inputMap("smoothgrad", "gray", meanOf(sum, n), clean.scores[0]), nil
}

// drawAhead draws the noise of samples 0..n-1, in order, on a goroutine
// that keeps up to two samples ahead of the passes (drawing 150k normal
// values costs about a tenth of a Tiny Darknet forward pass, and the passes
// leave a core idle part of the time). Each receive from full yields the
// next sample's noise; send the buffer back on free when done with it. The
// goroutine ends after sample n-1 or when stop is closed.
func drawAhead(n, size int, noise func(i int, dst []float32), stop <-chan struct{}) (full <-chan []float32, free chan<- []float32) {
	fullc, freec := make(chan []float32, 2), make(chan []float32, 2)
	freec <- make([]float32, size)
	freec <- make([]float32, size)
	go func() {
		for i := range n {
			var b []float32
			select {
			case b = <-freec:
			case <-stop:
				return
			}
			noise(i, b)
			select {
			case fullc <- b:
			case <-stop:
				return
			}
		}
	}()
	return fullc, freec
}

// accumulate adds each batch item of g (len(g) a multiple of len(sum))
// into sum.
func accumulate(sum []float64, g []float32) {
	for off := 0; off+len(sum) <= len(g); off += len(sum) {
		for j, v := range g[off : off+len(sum)] {
			sum[j] += float64(v)
		}
	}
}

// meanOf returns sum/n as a float32 tensor of sum's length.
func meanOf(sum []float64, n int) *model.Tensor {
	out := model.NewTensor(len(sum))
	for j, v := range sum {
		out.Data[j] = float32(v / float64(n))
	}
	return out
}
