package vis

import (
	"fmt"
	"math"
	"strings"
)

// Regularizer holds the regularization operators of Yosinski et al. 2015
// ("Understanding Neural Networks Through Deep Visualization", section 3),
// applied to the pixels after each gradient step, in this order. Pixels are
// taken relative to grey (½), the zero of the mean-subtracted images of the
// paper.
type Regularizer struct {
	// Decay is θ_decay: p ← ½ + (1 - Decay)(p - ½), L2 decay.
	Decay float64
	// BlurEvery and BlurSigma are θ_b_every and θ_b_width: every BlurEvery
	// steps each channel is blurred with a Gaussian of standard deviation
	// BlurSigma pixels.
	BlurEvery int
	BlurSigma float64
	// NormPct is θ_n_pct: pixels whose norm over channels |p - ½| is below
	// this percentile (0..100) of the image's pixels become grey.
	NormPct float64
	// ContribPct is θ_c_pct: pixels whose contribution |Σ_c (p_c - ½)
	// dJ/dp_c| (the first-order change of the objective were the pixel
	// set to grey) is below this percentile become grey.
	ContribPct float64
}

// active reports whether any operator is on.
func (r Regularizer) active() bool {
	return r.Decay != 0 || (r.BlurEvery > 0 && r.BlurSigma > 0) || r.NormPct > 0 || r.ContribPct > 0
}

// apply applies the operators after step (1-based) to n images of c x h x w
// pixels v, whose gradient at this step was g.
func (r Regularizer) apply(step int, v, g []float32, n, c, h, w int) {
	hw := h * w
	if r.Decay != 0 {
		k := float32(1 - r.Decay)
		parallelRange(len(v), func(a, b int) {
			for i, p := range v[a:b] {
				v[a+i] = 0.5 + k*(p-0.5)
			}
		})
	}
	if r.BlurEvery > 0 && r.BlurSigma > 0 && step%r.BlurEvery == 0 {
		parallelFor(n*c, func(pl int) { // the planes concurrently
			plane, buf := v[pl*hw:(pl+1)*hw], make([]float64, hw)
			for j, p := range plane {
				buf[j] = float64(p)
			}
			gaussianBlur(buf, h, w, r.BlurSigma)
			for j, b := range buf {
				plane[j] = float32(b)
			}
		})
	}
	if r.NormPct <= 0 && r.ContribPct <= 0 {
		return
	}
	score := make([]float64, hw)
	for i := range n {
		img := v[i*c*hw : (i+1)*c*hw]
		if r.NormPct > 0 {
			parallelRange(hw, func(a, b int) {
				for j := a; j < b; j++ {
					s := 0.0
					for ch := range c {
						d := float64(img[ch*hw+j]) - 0.5
						s += d * d
					}
					score[j] = math.Sqrt(s)
				}
			})
			greyBelow(img, score, r.NormPct, c, hw)
		}
		if r.ContribPct > 0 {
			grad := g[i*c*hw : (i+1)*c*hw]
			parallelRange(hw, func(a, b int) {
				for j := a; j < b; j++ {
					s := 0.0
					for ch := range c {
						s += (float64(img[ch*hw+j]) - 0.5) * float64(grad[ch*hw+j])
					}
					score[j] = math.Abs(s)
				}
			})
			greyBelow(img, score, r.ContribPct, c, hw)
		}
	}
}

// greyBelow sets to grey the pixels of img whose score is below the pct-th
// percentile of the scores (linear interpolation between order statistics,
// like numpy's percentile).
func greyBelow(img []float32, score []float64, pct float64, c, hw int) {
	thr := percentile(score, pct)
	parallelRange(hw, func(a, b int) {
		for j := a; j < b; j++ {
			if score[j] < thr {
				for ch := range c {
					img[ch*hw+j] = 0.5
				}
			}
		}
	})
}

// percentile returns the pct-th percentile (0..100) of v (NaN counting as
// +Inf). It selects the two order statistics it needs in linear time
// (Hoare's quickselect) rather than sorting: the regularizers take it of
// every image's 50,176 pixels at every step.
func percentile(v []float64, pct float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := make([]float64, len(v))
	for i, x := range v {
		if x != x {
			x = math.Inf(1)
		}
		s[i] = x
	}
	pos := math.Min(math.Max(pct, 0), 100) / 100 * float64(len(s)-1)
	i := int(pos)
	a := selectNth(s, i) // s[:i] <= a <= s[i+1:]
	if i+1 >= len(s) {
		return a
	}
	b := s[i+1] // the least of s[i+1:] (no NaN there)
	for _, x := range s[i+2:] {
		if x < b {
			b = x
		}
	}
	return a + (pos-float64(i))*(b-a)
}

// selectNth reorders s so that s[n] is the value a sort would put there,
// with no larger value before it and no smaller one after, and returns it.
// s must hold no NaN.
func selectNth(s []float64, n int) float64 {
	lo, hi := 0, len(s)-1
	for lo < hi {
		// Median of three as the pivot, then Hoare's partition.
		mid := lo + (hi-lo)/2
		if s[mid] < s[lo] {
			s[mid], s[lo] = s[lo], s[mid]
		}
		if s[hi] < s[lo] {
			s[hi], s[lo] = s[lo], s[hi]
		}
		if s[hi] < s[mid] {
			s[hi], s[mid] = s[mid], s[hi]
		}
		pivot := s[mid]
		i, j := lo, hi
		for i <= j {
			for s[i] < pivot {
				i++
			}
			for pivot < s[j] {
				j--
			}
			if i <= j {
				s[i], s[j] = s[j], s[i]
				i++
				j--
			}
		}
		switch {
		case n <= j:
			hi = j
		case n >= i:
			lo = i
		default:
			return s[n] // between j and i: equal to the pivot
		}
	}
	return s[n]
}

// Presets are the named recipes. "lucid" is the default of activation
// maximization.
var presets = map[string]Recipe{
	// Olah et al. 2017 (Lucid/Lucent's render_vis): Fourier
	// parameterization with 1/f scaling and colour decorrelation, Adam,
	// jitter, zoom and rotation. Lucid shows a 128-pixel image at about
	// 0.82..1 of the network's view (pad 12, jitter 8 + 4, scale 0.9..1.1,
	// rotate ±10°) and takes 512 steps of 0.05; at the network's full size
	// and with fewer, larger steps (96 of 0.1) the images are as clean and
	// take a quarter of the time. The last 12 steps run untransformed:
	// the image is judged untransformed, and units that fire at one
	// position (a border, --at max) otherwise lose much of their
	// activation to the jitter.
	"lucid": {Param: ParamFourier, Decorrelate: true, DecayPower: 1, InitNoise: 0.01,
		Transforms: Transforms{Jitter: 16, ScaleMin: 0.85, ScaleMax: 1, Rotate: 10},
		Optimizer:  "adam", LR: 0.1, Steps: 96, Settle: 12},
	// Yosinski et al. 2015, Table 1's four hyperparameter combinations
	// (decay, blur every, blur width, norm percentile, contribution
	// percentile), with normalized gradient steps so that one learning
	// rate suits every layer.
	"yosinski1": {Param: ParamPixel, InitNoise: 0.01, Optimizer: "normalized", LR: 0.01, Steps: 200,
		Regularizer: Regularizer{BlurEvery: 4, BlurSigma: 0.5, NormPct: 50}},
	"yosinski2": {Param: ParamPixel, InitNoise: 0.01, Optimizer: "normalized", LR: 0.01, Steps: 200,
		Regularizer: Regularizer{Decay: 0.3, NormPct: 20}},
	"yosinski3": {Param: ParamPixel, InitNoise: 0.01, Optimizer: "normalized", LR: 0.01, Steps: 200,
		Regularizer: Regularizer{Decay: 0.0001, BlurEvery: 4, BlurSigma: 1}},
	"yosinski4": {Param: ParamPixel, InitNoise: 0.01, Optimizer: "normalized", LR: 0.01, Steps: 200,
		Regularizer: Regularizer{ContribPct: 90}},
	// Simonyan et al. 2014: plain gradient ascent on the pixels (their L2
	// penalty is a term of ClassModel's objective).
	"simonyan": {Param: ParamPixel, InitNoise: 0.01, Optimizer: "normalized", LR: 0.01, Steps: 200},
	// No regularization at all: pixels, Adam.
	"none": {Param: ParamPixel, InitNoise: 0.01, Optimizer: "adam", LR: 0.01, Steps: 128},
}

// Presets lists the preset names.
func Presets() []string {
	return []string{"lucid", "yosinski1", "yosinski2", "yosinski3", "yosinski4", "simonyan", "none"}
}

// Preset returns the named recipe.
func Preset(name string) (Recipe, error) {
	r, ok := presets[name]
	if !ok {
		return Recipe{}, fmt.Errorf("unknown preset %q (want one of %s)", name, strings.Join(Presets(), ", "))
	}
	return r, nil
}
