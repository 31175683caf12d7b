package vis

import (
	"math"
	"math/rand/v2"
	"runtime"
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

// warp is one drawn transform of an h x w plane: output point q reads
// input point R(-angle)(q - c - d)/s + c bilinearly (see newWarp). It holds
// only the transform's parameters: apply and adjoint compute each pixel's
// taps as they go, cheaper than storing and reading back four weights per
// pixel.
type warp struct {
	h, w           int
	cy, cx, dy, dx float64
	cos, sin       float64 // of the angle, divided by the zoom
	wrap           bool
}

// draw samples a warp of an h x w plane from rng.
func (t Transforms) draw(rng *rand.Rand, h, w int) *warp {
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
	return newWarp(h, w, dy, dx, s, angle, t.Wrap)
}

// newWarp returns the warp that moves the image by (dy, dx) pixels after
// zooming it by s and rotating it by angle radians about its centre: output
// point q reads input point R(-angle)(q - c - d)/s + c.
func newWarp(h, w int, dy, dx, s, angle float64, wrap bool) *warp {
	return &warp{h: h, w: w, cy: float64(h-1) / 2, cx: float64(w-1) / 2, dy: dy, dx: dx,
		cos: math.Cos(angle) / s, sin: math.Sin(angle) / s, wrap: wrap}
}

// floorInt is math.Floor for values well inside the int range, without
// the function call math.Floor is below GOAMD64=v2.
func floorInt(v float64) int {
	i := int(v)
	if float64(i) > v {
		i--
	}
	return i
}

// source returns the input point output pixel (y, x) reads: the top-left
// tap (y0, x0) and the fractions (fy, fx) towards the next row and column.
func (wp *warp) source(y, x int) (y0, x0 int, fy, fx float64) {
	ry, rx := wp.row(y)
	return wp.point(ry, rx, float64(x)-wp.cx-wp.dx)
}

// row returns the terms of source that depend on the output row y only.
func (wp *warp) row(y int) (ry, rx float64) {
	qy := float64(y) - wp.cy - wp.dy
	return wp.cos * qy, wp.sin * qy
}

// point is source given row's terms and qx = x - cx - dx.
func (wp *warp) point(ry, rx, qx float64) (y0, x0 int, fy, fx float64) {
	sy := ry - wp.sin*qx + wp.cy
	sx := rx + wp.cos*qx + wp.cx
	y0, x0 = floorInt(sy), floorInt(sx)
	return y0, x0, sy - float64(y0), sx - float64(x0)
}

// inside reports whether all four taps from (y0, x0) lie in the plane.
func (wp *warp) inside(y0, x0 int) bool {
	return y0 >= 0 && x0 >= 0 && y0+1 < wp.h && x0+1 < wp.w
}

// outside reports whether all four taps from (y0, x0) lie outside the
// plane (and it does not wrap): the pixel reads only the fill value.
func (wp *warp) outside(y0, x0 int) bool {
	return !wp.wrap && (y0 < -1 || x0 < -1 || y0 >= wp.h || x0 >= wp.w)
}

// taps returns output pixel (y, x)'s four input taps, row-major from the
// top-left (-1: outside the plane, reads the fill value), and their
// weights.
func (wp *warp) taps(y, x int) (idx [4]int32, wt [4]float32) {
	y0, x0, fy, fx := wp.source(y, x)
	h, w := wp.h, wp.w
	for k := range 4 {
		oy, ox := k>>1, k&1
		wy, wx := 1-fy, 1-fx
		if oy == 1 {
			wy = fy
		}
		if ox == 1 {
			wx = fx
		}
		iy, ix := y0+oy, x0+ox
		if wp.wrap {
			iy, ix = ((iy%h)+h)%h, ((ix%w)+w)%w
		}
		idx[k] = -1
		if iy >= 0 && iy < h && ix >= 0 && ix < w {
			idx[k] = int32(iy*w + ix)
		}
		wt[k] = float32(wy * wx)
	}
	return idx, wt
}

// weights returns the bilinear weights of the fractions (fy, fx), in the
// order of taps.
func weights(fy, fx float64) (w0, w1, w2, w3 float32) {
	return float32((1 - fy) * (1 - fx)), float32((1 - fy) * fx), float32(fy * (1 - fx)), float32(fy * fx)
}

// apply writes output rows [ylo, yhi) of the warped plane src into dst
// (h*w each); taps outside the image read fill.
func (wp *warp) apply(dst, src []float32, fill float32, ylo, yhi int) {
	wp.applyPlanes(dst, src, 1, []float32{fill}, []float32{1}, []float32{0}, ylo, yhi)
}

// applyPlanes writes output rows [ylo, yhi) of every plane of the warped
// image src (c planes of h*w) into dst, plane ch reading fill[ch] outside
// the image, each value v written as gain[ch]·v + bias[ch] (pixels to
// network inputs in the same pass).
func (wp *warp) applyPlanes(dst, src []float32, c int, fill, gain, bias []float32, ylo, yhi int) {
	w := wp.w
	hw := wp.h * w
	dst, src, fill, gain, bias = dst[:c*hw], src[:c*hw], fill[:c], gain[:c], bias[:c]
	for y := ylo; y < yhi; y++ {
		ry, rx := wp.row(y)
		for x := range w {
			j := y*w + x
			y0, x0, fy, fx := wp.point(ry, rx, float64(x)-wp.cx-wp.dx)
			switch {
			case wp.inside(y0, x0):
				k0, k1, k2, k3 := weights(fy, fx)
				for ch, i := 0, y0*w+x0; ch < c; ch, i = ch+1, i+hw {
					a, b := src[i:i+2], src[i+w:i+w+2]
					dst[ch*hw+j] = gain[ch]*(k0*a[0]+k1*a[1]+k2*b[0]+k3*b[1]) + bias[ch]
				}
			case wp.outside(y0, x0):
				for ch := range c {
					dst[ch*hw+j] = gain[ch]*fill[ch] + bias[ch]
				}
			default:
				idx, wt := wp.taps(y, x)
				for ch := range c {
					p := src[ch*hw : (ch+1)*hw]
					s := float32(0)
					for k, i := range idx {
						if i >= 0 {
							s += wt[k] * p[i]
						} else {
							s += wt[k] * fill[ch]
						}
					}
					dst[ch*hw+j] = gain[ch]*s + bias[ch]
				}
			}
		}
	}
}

// adjoint adds the transposed warp of g (h*w) into dst: the gradient of the
// input plane given that of the output plane.
func (wp *warp) adjoint(dst, g []float32) {
	wp.adjointRows(dst, g, 1, []float32{1}, 0, wp.h)
}

// adjointPlanes sets dst to the transposed warp of the c planes of g, plane
// ch times gain[ch]: the gradient of the input image given that of the
// output image (and of applyPlanes with that gain). Two halves
// of the rows run concurrently, the second adding into spare (its taps may
// reach the rows the first half's do), then spare is added into dst.
func (wp *warp) adjointPlanes(dst, g []float32, c int, gain, spare []float32) {
	if runtime.GOMAXPROCS(0) < 2 || len(spare) < len(dst) {
		clear(dst)
		wp.adjointRows(dst, g, c, gain, 0, wp.h)
		return
	}
	spare = spare[:len(dst)]
	mid := wp.h / 2
	parallelFor(2, func(i int) {
		if i == 0 {
			clear(dst)
			wp.adjointRows(dst, g, c, gain, 0, mid)
		} else {
			clear(spare)
			wp.adjointRows(spare, g, c, gain, mid, wp.h)
		}
	})
	parallelRange(len(dst), func(lo, hi int) {
		d := dst[lo:hi]
		for j, v := range spare[lo:hi] {
			d[j] += v
		}
	})
}

// adjointRows adds the transposed warp of output rows [ylo, yhi) of the c
// planes of g, plane ch times gain[ch], into dst.
func (wp *warp) adjointRows(dst, g []float32, c int, gain []float32, ylo, yhi int) {
	w := wp.w
	hw := wp.h * w
	dst, g, gain = dst[:c*hw], g[:c*hw], gain[:c]
	for y := ylo; y < yhi; y++ {
		ry, rx := wp.row(y)
		for x := range w {
			j := y*w + x
			y0, x0, fy, fx := wp.point(ry, rx, float64(x)-wp.cx-wp.dx)
			switch {
			case wp.inside(y0, x0):
				k0, k1, k2, k3 := weights(fy, fx)
				for ch, i := 0, y0*w+x0; ch < c; ch, i = ch+1, i+hw {
					gj := g[ch*hw+j] * gain[ch]
					a, b := dst[i:i+2], dst[i+w:i+w+2]
					a[0] += k0 * gj
					a[1] += k1 * gj
					b[0] += k2 * gj
					b[1] += k3 * gj
				}
			case wp.outside(y0, x0):
			default:
				idx, wt := wp.taps(y, x)
				for ch := range c {
					gj := g[ch*hw+j] * gain[ch]
					p := dst[ch*hw : (ch+1)*hw]
					for k, i := range idx {
						if i >= 0 {
							p[i] += wt[k] * gj
						}
					}
				}
			}
		}
	}
}
