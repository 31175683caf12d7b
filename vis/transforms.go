package vis

import (
	"math"
	"math/rand/v2"
)

// Transforms are the random geometric changes applied to each image before
// every forward pass, so that the optimized image must work under all of
// them (transformation robustness, Olah et al. 2017; DeepDream's jitter,
// Mordvintsev et al. 2015). Each step draws a translation of whole pixels
// uniform in [-Jitter, Jitter] per axis, a zoom uniform in
// [ScaleMin, ScaleMax] and a rotation uniform in [-Rotate, Rotate] degrees
// about the image centre; the image is resampled bilinearly at its own size.
// Points that fall outside read the fill value (grey) or, with Wrap, the
// image's other side (DeepDream's roll). The gradient is taken back through
// the same resampling (its adjoint). The zero value is no transform.
type Transforms struct {
	Jitter             int
	ScaleMin, ScaleMax float64
	Rotate             float64
	Wrap               bool
}

// active reports whether t changes the image at all.
func (t Transforms) active() bool {
	return t.Jitter > 0 || t.Rotate != 0 || (t.ScaleMin > 0 && t.ScaleMin != 1) || (t.ScaleMax > 0 && t.ScaleMax != 1)
}

// warp is one drawn transform of an h x w plane: output pixel j is the
// weighted sum of input pixels idx[4j..4j+3] (-1: the fill value) with
// weights wt[4j..4j+3].
type warp struct {
	h, w int
	idx  []int32
	wt   []float32
}

// draw samples a warp of an h x w plane from rng, reusing wp's buffers
// when wp is not nil.
func (t Transforms) draw(rng *rand.Rand, h, w int, wp *warp) *warp {
	dy, dx := 0.0, 0.0
	if t.Jitter > 0 {
		dy = float64(rng.IntN(2*t.Jitter+1) - t.Jitter)
		dx = float64(rng.IntN(2*t.Jitter+1) - t.Jitter)
	}
	s := 1.0
	if lo, hi := t.ScaleMin, t.ScaleMax; lo > 0 || hi > 0 {
		if lo <= 0 {
			lo = 1
		}
		if hi <= 0 {
			hi = 1
		}
		s = lo + (hi-lo)*rng.Float64()
	}
	angle := 0.0
	if t.Rotate != 0 {
		angle = (2*rng.Float64() - 1) * t.Rotate * math.Pi / 180
	}
	return newWarp(h, w, dy, dx, s, angle, t.Wrap, wp)
}

// newWarp returns the warp that moves the image by (dy, dx) pixels after
// zooming it by s and rotating it by angle radians about its centre: output
// point q reads input point R(-angle)(q - c - d)/s + c. It reuses wp's
// buffers when wp is not nil.
func newWarp(h, w int, dy, dx, s, angle float64, wrap bool, wp *warp) *warp {
	if wp == nil || len(wp.idx) != 4*h*w {
		wp = &warp{idx: make([]int32, 4*h*w), wt: make([]float32, 4*h*w)}
	}
	wp.h, wp.w = h, w
	cy, cx := float64(h-1)/2, float64(w-1)/2
	cos, sin := math.Cos(angle)/s, math.Sin(angle)/s
	parallelTasks(h, func(ylo, yhi int) { wp.rows(ylo, yhi, cy, cx, dy, dx, cos, sin, wrap) })
	return wp
}

// rows fills the taps of output rows [ylo, yhi).
func (wp *warp) rows(ylo, yhi int, cy, cx, dy, dx, cos, sin float64, wrap bool) {
	h, w := wp.h, wp.w
	for y := ylo; y < yhi; y++ {
		for x := range w {
			qy, qx := float64(y)-cy-dy, float64(x)-cx-dx
			sy := cos*qy - sin*qx + cy
			sx := sin*qy + cos*qx + cx
			y0, x0 := math.Floor(sy), math.Floor(sx)
			fy, fx := sy-y0, sx-x0
			j := 4 * (y*w + x)
			k := 0
			for _, oy := range [2]int{0, 1} {
				for _, ox := range [2]int{0, 1} {
					wy := 1 - fy
					if oy == 1 {
						wy = fy
					}
					wx := 1 - fx
					if ox == 1 {
						wx = fx
					}
					iy, ix := int(y0)+oy, int(x0)+ox
					if wrap {
						iy, ix = ((iy%h)+h)%h, ((ix%w)+w)%w
					}
					if iy < 0 || iy >= h || ix < 0 || ix >= w {
						wp.idx[j+k] = -1
					} else {
						wp.idx[j+k] = int32(iy*w + ix)
					}
					wp.wt[j+k] = float32(wy * wx)
					k++
				}
			}
		}
	}
}

// apply writes output pixels [lo, hi) of the warped plane src into dst
// (h*w each); taps outside the image read fill.
func (wp *warp) apply(dst, src []float32, fill float32, lo, hi int) {
	for j := lo; j < hi; j++ {
		s := float32(0)
		for k := 4 * j; k < 4*j+4; k++ {
			if i := wp.idx[k]; i >= 0 {
				s += wp.wt[k] * src[i]
			} else {
				s += wp.wt[k] * fill
			}
		}
		dst[j] = s
	}
}

// adjoint adds the transposed warp of g (h*w) into dst: the gradient of the
// input plane given that of the output plane.
func (wp *warp) adjoint(dst, g []float32) {
	for j, gj := range g {
		if gj == 0 {
			continue
		}
		for k := 4 * j; k < 4*j+4; k++ {
			if i := wp.idx[k]; i >= 0 {
				dst[i] += wp.wt[k] * gj
			}
		}
	}
}

// applyPlanes writes output pixels [lo, hi) of every plane of the warped
// image src (c planes of h*w) into dst, plane ch reading fill[ch] outside
// the image: apply for all planes at once, reading each pixel's taps once.
func (wp *warp) applyPlanes(dst, src []float32, c int, fill []float32, lo, hi int) {
	hw := wp.h * wp.w
	for j := lo; j < hi; j++ {
		k := 4 * j
		i0, i1, i2, i3 := wp.idx[k], wp.idx[k+1], wp.idx[k+2], wp.idx[k+3]
		w0, w1, w2, w3 := wp.wt[k], wp.wt[k+1], wp.wt[k+2], wp.wt[k+3]
		if i0 >= 0 && i1 >= 0 && i2 >= 0 && i3 >= 0 {
			for ch := range c {
				p := src[ch*hw : (ch+1)*hw]
				dst[ch*hw+j] = w0*p[i0] + w1*p[i1] + w2*p[i2] + w3*p[i3]
			}
			continue
		}
		for ch := range c {
			p := src[ch*hw : (ch+1)*hw]
			s := float32(0)
			for t, i := range [4]int32{i0, i1, i2, i3} {
				if i >= 0 {
					s += wp.wt[k+t] * p[i]
				} else {
					s += wp.wt[k+t] * fill[ch]
				}
			}
			dst[ch*hw+j] = s
		}
	}
}
