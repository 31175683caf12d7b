package vis

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
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
// network inputs in the same pass). The pixels of a row whose taps all lie
// inside the image (its span) take their taps from rowTaps, a plane at a
// time; the others are computed one by one (pixel), but for those that
// read only the fill value.
func (wp *warp) applyPlanes(dst, src []float32, c int, fill, gain, bias []float32, ylo, yhi int) {
	w := wp.w
	hw := wp.h * w
	dst, src, fill, gain, bias = dst[:c*hw], src[:c*hw], fill[:c], gain[:c], bias[:c]
	t := getRowTaps(w)
	defer rowTapsPool.Put(t)
	for y := ylo; y < yhi; y++ {
		ry, rx := wp.row(y)
		ta, xa, xb, tb := wp.spans(ry, rx)
		for ch := range c {
			v, d := gain[ch]*fill[ch]+bias[ch], dst[ch*hw+y*w:ch*hw+(y+1)*w]
			for x := range ta {
				d[x] = v
			}
			for x := tb; x < w; x++ {
				d[x] = v
			}
		}
		for x := ta; x < xa; x++ {
			wp.pixel(dst, src, c, fill, gain, bias, y, x, ry, rx)
		}
		for x := xb; x < tb; x++ {
			wp.pixel(dst, src, c, fill, gain, bias, y, x, ry, rx)
		}
		if xa == xb {
			continue
		}
		wp.rowTaps(t, ry, rx, xa, xb)
		n := xb - xa
		idx, k0, k1, k2, k3 := t.idx[:n], t.k0[:n], t.k1[:n], t.k2[:n], t.k3[:n]
		j3 := 0               // pixels done for all planes
		if useAVX && c == 3 { // kernels_amd64.s, for all but the last few pixels
			if j3 = n &^ 7; j3 > 0 {
				gn, bs := [3]float32{gain[0], gain[1], gain[2]}, [3]float32{bias[0], bias[1], bias[2]}
				warpGather3AVX(&dst[y*w+xa], &src[0], &idx[0], &k0[0], &k1[0], &k2[0], &k3[0], j3, w, hw, &gn, &bs)
			}
		}
		for ch := range c {
			p := src[ch*hw : (ch+1)*hw]
			d := dst[ch*hw+y*w+xa : ch*hw+y*w+xb]
			gn, bs := gain[ch], bias[ch]
			j0 := j3
			if useAVX && j0 == 0 { // kernels_amd64.s, for all but the last few pixels
				if j0 = n &^ 7; j0 > 0 {
					warpGatherAVX(&d[0], &p[0], &idx[0], &k0[0], &k1[0], &k2[0], &k3[0], j0, w, gn, bs)
				}
			}
			for j := j0; j < n; j++ {
				i := idx[j]
				a, b := p[i:i+2], p[int(i)+w:int(i)+w+2]
				d[j] = gn*(k0[j]*a[0]+k1[j]*a[1]+k2[j]*b[0]+k3[j]*b[1]) + bs
			}
		}
	}
}

// pixel writes output pixel (y, x) of every plane, as applyPlanes, given
// row's terms for y.
func (wp *warp) pixel(dst, src []float32, c int, fill, gain, bias []float32, y, x int, ry, rx float64) {
	w := wp.w
	hw := wp.h * w
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

// rowTaps are the taps of a run of output pixels all inside the plane:
// the index of each one's top-left input pixel and its four weights.
type rowTaps struct {
	idx            []int32
	k0, k1, k2, k3 []float32
	args           tapArgs
}

// tapArgs are warpTapsAVX's terms, each in four float64 lanes (x: the
// first four columns), and the plane's width in four int32 lanes.
type tapArgs struct {
	ry, rx, sin, cos, cy, cx, dx, one, four, x [4]float64
	w                                          [4]int32
}

// rowTapsPool keeps rowTaps between the warps of an optimization's steps.
var rowTapsPool sync.Pool

// getRowTaps returns rowTaps for rows of w pixels, from the pool when it
// has some long enough.
func getRowTaps(w int) *rowTaps {
	if t, ok := rowTapsPool.Get().(*rowTaps); ok && len(t.idx) >= w {
		return t
	}
	return &rowTaps{idx: make([]int32, w), k0: make([]float32, w), k1: make([]float32, w), k2: make([]float32, w), k3: make([]float32, w)}
}

// rowTaps fills t with the taps of output pixels [xa, xb) of the row with
// terms (ry, rx), a span (all inside the plane).
func (wp *warp) rowTaps(t *rowTaps, ry, rx float64, xa, xb int) {
	from := xa // the first pixel left to the scalar loop
	if n := (xb - xa) &^ 3; useAVX && n > 0 {
		a := &t.args
		for l := range 4 {
			a.ry[l], a.rx[l], a.sin[l], a.cos[l] = ry, rx, wp.sin, wp.cos
			a.cy[l], a.cx[l], a.dx[l], a.one[l], a.four[l] = wp.cy, wp.cx, wp.dx, 1, 4
			a.x[l], a.w[l] = float64(xa+l), int32(wp.w)
		}
		warpTapsAVX(a, &t.idx[0], &t.k0[0], &t.k1[0], &t.k2[0], &t.k3[0], n)
		from = xa + n
	}
	for x := from; x < xb; x++ {
		j := x - xa
		y0, x0, fy, fx := wp.point(ry, rx, float64(x)-wp.cx-wp.dx)
		t.idx[j] = int32(y0*wp.w + x0)
		t.k0[j], t.k1[j], t.k2[j], t.k3[j] = weights(fy, fx)
	}
}

// spans returns the runs of output columns of the row with terms (ry, rx):
// [xa, xb) the pixels whose four taps all lie inside the plane, within
// [ta, tb) those with any tap inside (all, when the plane wraps); the
// others read only the fill value. When no tap is all inside, xa = xb =
// ta. The source point moves along a line as x grows, and point computes
// its coordinates by operations that each keep their order, so these
// columns are runs: estimated from the line, then fixed by testing their
// ends with point itself.
func (wp *warp) spans(ry, rx float64) (ta, xa, xb, tb int) {
	h, w := float64(wp.h), float64(wp.w)
	if wp.wrap {
		ta, tb = 0, wp.w
	} else {
		ta, tb = wp.run(ry, rx, -1, h, -1, w, func(y0, x0 int) bool { return !wp.outside(y0, x0) })
	}
	xa, xb = wp.run(ry, rx, 0, h-1, 0, w-1, wp.inside)
	if xa == xb {
		xa, xb = ta, ta
	}
	return ta, xa, xb, tb
}

// run returns the columns [a, b) of the row with terms (ry, rx) whose
// top-left tap (y0, x0) satisfies ok, which holds exactly when the source
// point lies in [ylo, yhi) x [xlo, xhi): an empty run is [0, 0).
func (wp *warp) run(ry, rx, ylo, yhi, xlo, xhi float64, ok func(y0, x0 int) bool) (a, b int) {
	in := func(x int) bool {
		y0, x0, _, _ := wp.point(ry, rx, float64(x)-wp.cx-wp.dx)
		return ok(y0, x0)
	}
	// sy = ry + cy - sin·qx and sx = rx + cx + cos·qx, x = qx + cx + dx.
	lo, hi := 0.0, float64(wp.w)
	limit := func(a, b, bot, top float64) { // a + b·qx in [bot, top)
		if b == 0 {
			if !(a >= bot && a < top) {
				lo, hi = 1, 0
			}
			return
		}
		q0, q1 := (bot-a)/b, (top-a)/b
		if b < 0 {
			q0, q1 = q1, q0
		}
		lo = math.Max(lo, q0+wp.cx+wp.dx)
		hi = math.Min(hi, q1+wp.cx+wp.dx)
	}
	limit(ry+wp.cy, -wp.sin, ylo, yhi)
	limit(rx+wp.cx, wp.cos, xlo, xhi)
	if !(lo < hi) {
		return 0, 0
	}
	// One column wider on each side, then shrunk to the run.
	a = min(max(int(math.Ceil(lo))-1, 0), wp.w)
	b = min(max(int(math.Floor(hi))+2, 0), wp.w)
	for a < b && !in(a) {
		a++
	}
	for b > a && !in(b-1) {
		b--
	}
	if a == b {
		return 0, 0
	}
	return a, b
}

// adjoint adds the transposed warp of g (h*w) into dst: the gradient of the
// input plane given that of the output plane.
func (wp *warp) adjoint(dst, g []float32) {
	wp.adjointRows(dst, g, 1, []float32{1}, 0, wp.h)
}

// adjointPlanes sets dst to the transposed warp of the c planes of g, plane
// ch times gain[ch]: the gradient of the input image given that of the
// output image (and of applyPlanes with that gain). The output rows run in
// four bands, the first and third concurrently, then the second and
// fourth, when the input rows their taps reach keep apart (as for Lucid's
// transforms); else two halves of the rows run concurrently, the second
// adding into spare, which is then added into dst.
func (wp *warp) adjointPlanes(dst, g []float32, c int, gain, spare []float32) {
	h := wp.h
	if runtime.GOMAXPROCS(0) < 2 || h < 4 {
		clear(dst)
		wp.adjointRows(dst, g, c, gain, 0, h)
		return
	}
	b := [5]int{0, h / 4, h / 2, 3 * h / 4, h}
	if wp.apart(b[0], b[1], b[2], b[3]) && wp.apart(b[1], b[2], b[3], b[4]) {
		// Each of the first two bands first clears the rows on its side of
		// the gap between the input rows their taps reach.
		_, split := wp.sourceRows(b[0], b[1])
		split = min(max(split, 0), h)
		w, hw := wp.w, wp.h*wp.w
		parallelFor(2, func(i int) {
			lo, hi := 0, split
			if i == 1 {
				lo, hi = split, h
			}
			for ch := range c {
				clear(dst[ch*hw+lo*w : ch*hw+hi*w])
			}
			wp.adjointRows(dst, g, c, gain, b[2*i], b[2*i+1])
		})
		parallelFor(2, func(i int) { wp.adjointRows(dst, g, c, gain, b[2*i+1], b[2*i+2]) })
		return
	}
	if len(spare) < len(dst) {
		clear(dst)
		wp.adjointRows(dst, g, c, gain, 0, h)
		return
	}
	spare = spare[:len(dst)]
	mid := h / 2
	parallelFor(2, func(i int) {
		if i == 0 {
			clear(dst)
			wp.adjointRows(dst, g, c, gain, 0, mid)
		} else {
			clear(spare)
			wp.adjointRows(spare, g, c, gain, mid, h)
		}
	})
	parallelRange(len(dst), func(lo, hi int) {
		d := dst[lo:hi]
		for j, v := range spare[lo:hi] {
			d[j] += v
		}
	})
}

// apart reports whether the taps of output rows [a, b) and [c, d) reach no
// input row in common.
func (wp *warp) apart(a, b, c, d int) bool {
	if wp.wrap {
		return false
	}
	lo1, hi1 := wp.sourceRows(a, b)
	lo2, hi2 := wp.sourceRows(c, d)
	return hi1 <= lo2 || hi2 <= lo1
}

// sourceRows returns input rows [lo, hi) that hold every tap of output
// rows [a, b), with a row to spare on each side: the source row is affine
// in the output point, so its extremes lie at the corners.
func (wp *warp) sourceRows(a, b int) (lo, hi int) {
	lo, hi = math.MaxInt, math.MinInt
	for _, y := range []int{a, b - 1} {
		ry, rx := wp.row(y)
		for _, x := range []int{0, wp.w - 1} {
			y0, _, _, _ := wp.point(ry, rx, float64(x)-wp.cx-wp.dx)
			lo, hi = min(lo, y0), max(hi, y0)
		}
	}
	return lo - 1, hi + 3 // taps reach rows y0 and y0+1
}

// adjointRows adds the transposed warp of output rows [ylo, yhi) of the c
// planes of g, plane ch times gain[ch], into dst: for each row, its span a
// plane at a time from rowTaps (see applyPlanes), its other pixels one by
// one.
func (wp *warp) adjointRows(dst, g []float32, c int, gain []float32, ylo, yhi int) {
	w := wp.w
	hw := wp.h * w
	dst, g, gain = dst[:c*hw], g[:c*hw], gain[:c]
	t := getRowTaps(w)
	defer rowTapsPool.Put(t)
	for y := ylo; y < yhi; y++ {
		ry, rx := wp.row(y)
		ta, xa, xb, tb := wp.spans(ry, rx)
		for x := ta; x < xa; x++ {
			wp.pixelAdjoint(dst, g, c, gain, y, x, ry, rx)
		}
		for x := xb; x < tb; x++ {
			wp.pixelAdjoint(dst, g, c, gain, y, x, ry, rx)
		}
		if xa == xb {
			continue
		}
		wp.rowTaps(t, ry, rx, xa, xb)
		n := xb - xa
		idx, k0, k1, k2, k3 := t.idx[:n], t.k0[:n], t.k1[:n], t.k2[:n], t.k3[:n]
		j0 := 0
		if useAVX { // kernels_amd64.s, for all but the last few pixels
			if j0 = n &^ 7; j0 > 0 && c == 3 {
				gn := [3]float32{gain[0], gain[1], gain[2]}
				warpScatter3AVX(&dst[0], &g[y*w+xa], &idx[0], &k0[0], &k1[0], &k2[0], &k3[0], j0, w, hw, &gn)
			} else if j0 > 0 {
				for ch := range c {
					warpScatterAVX(&dst[ch*hw], &g[ch*hw+y*w+xa], &idx[0], &k0[0], &k1[0], &k2[0], &k3[0], j0, w, gain[ch])
				}
			}
		}
		// The pixels one by one, each plane in turn: sums into different
		// planes overlap in time, those into one plane (whose taps
		// neighbouring pixels share) follow each other.
		for j := j0; j < n; j++ {
			i := int(idx[j])
			for ch := range c {
				p := dst[ch*hw : (ch+1)*hw]
				gj := g[ch*hw+y*w+xa+j] * gain[ch]
				a, b := p[i:i+2], p[i+w:i+w+2]
				a[0] += k0[j] * gj
				a[1] += k1[j] * gj
				b[0] += k2[j] * gj
				b[1] += k3[j] * gj
			}
		}
	}
}

// pixelAdjoint adds the transposed warp of output pixel (y, x) of the c
// planes of g, as adjointRows, given row's terms for y.
func (wp *warp) pixelAdjoint(dst, g []float32, c int, gain []float32, y, x int, ry, rx float64) {
	w := wp.w
	hw := wp.h * w
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
