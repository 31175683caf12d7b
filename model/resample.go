package model

import (
	"image"
	"image/draw"
	"math"
	"sync"
)

// The resize behind preprocessing: a separable triangle (bilinear) filter,
// stretched by the shrink factor when shrinking so that every source pixel
// contributes (the antialiasing of PIL's and x/image/draw's BiLinear), in
// float32 with results rounded to 8 bits like PIL. Only the crop the
// network sees is computed: its pixels equal those of the whole resized
// image, at a fraction of the cost (a 640x360 video frame to 224x224 costs
// about a millisecond).

// filterTaps holds, for each output coordinate of one axis, the first
// source index and the weights of the source pixels from there on.
type filterTaps struct {
	start []int
	n     []int
	w     []float32 // n[i] weights of output i, from off[i]
	off   []int
}

// newFilterTaps computes the taps of outputs first..first+count-1 of a
// resize from src to dst pixels along one axis.
func newFilterTaps(dst, src, first, count int) *filterTaps {
	scale := float64(src) / float64(dst)
	support := max(scale, 1) // the triangle's half width in source pixels
	t := &filterTaps{start: make([]int, count), n: make([]int, count), off: make([]int, count)}
	for i := range count {
		center := (float64(first+i) + 0.5) * scale // in source coordinates
		lo := max(int(math.Floor(center-support)), 0)
		hi := min(int(math.Ceil(center+support)), src)
		t.start[i], t.off[i] = lo, len(t.w)
		var sum float64
		k := len(t.w)
		for s := lo; s < hi; s++ {
			w := 1 - math.Abs((float64(s)+0.5-center)/support)
			if w <= 0 {
				w = 0
			}
			t.w = append(t.w, float32(w))
			sum += w
		}
		if sum == 0 { // a degenerate window: take the nearest pixel
			t.w = append(t.w[:k], 1)
			t.start[i] = min(max(int(center), 0), src-1)
			t.n[i] = 1
			continue
		}
		for j := k; j < len(t.w); j++ {
			t.w[j] = float32(float64(t.w[j]) / sum)
		}
		t.n[i] = len(t.w) - k
	}
	return t
}

// span returns the source range [lo, hi) the taps read.
func (t *filterTaps) span() (lo, hi int) {
	lo, hi = math.MaxInt, 0
	for i, s := range t.start {
		lo, hi = min(lo, s), max(hi, s+t.n[i])
	}
	return lo, hi
}

// tapCache keeps the taps of recent geometries: a video stream resizes
// same-sized frames.
var tapCache struct {
	sync.Mutex
	m map[[4]int]*filterTaps
}

func cachedTaps(dst, src, first, count int) *filterTaps {
	key := [4]int{dst, src, first, count}
	tapCache.Lock()
	defer tapCache.Unlock()
	if t, ok := tapCache.m[key]; ok {
		return t
	}
	if tapCache.m == nil || len(tapCache.m) >= 32 {
		tapCache.m = map[[4]int]*filterTaps{}
	}
	t := newFilterTaps(dst, src, first, count)
	tapCache.m[key] = t
	return t
}

// float32Pool recycles the resize's intermediate rows.
var float32Pool sync.Pool // *[]float32

// resizeCrop writes into dst (w x h, at the origin) the w x h window at
// (x0, y0) of img resized to rw x rh.
func resizeCrop(dst *image.RGBA, img image.Image, rw, rh, x0, y0 int) {
	b := img.Bounds()
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	if rw == b.Dx() && rh == b.Dy() {
		draw.Draw(dst, dst.Rect, img, b.Min.Add(image.Pt(x0, y0)), draw.Src)
		return
	}
	xt := cachedTaps(rw, b.Dx(), x0, w)
	yt := cachedTaps(rh, b.Dy(), y0, h)
	xlo, xhi := xt.span()
	ylo, yhi := yt.span()
	// The source rows and columns the crop reads, as 8-bit RGBA.
	src, ok := img.(*image.RGBA)
	sx, sy := b.Min.X, b.Min.Y // where source index 0 is in src
	if !ok {
		src = getRGBA(xhi-xlo, yhi-ylo)
		defer putRGBA(src)
		src.Rect = image.Rect(xlo, ylo, xhi, yhi)
		draw.Draw(src, src.Rect, img, b.Min.Add(image.Pt(xlo, ylo)), draw.Src)
		sx, sy = 0, 0
	}
	// Horizontal pass: rows ylo..yhi-1 of the source to w columns, in tmp;
	// acc is the vertical pass's row.
	n := (yhi - ylo) * w * 4
	tp, _ := float32Pool.Get().(*[]float32)
	if tp == nil || cap(*tp) < n+4*w {
		s := make([]float32, n+4*w)
		tp = &s
	}
	tmp, acc := (*tp)[:n], (*tp)[n:n+4*w]
	defer float32Pool.Put(tp)
	for y := ylo; y < yhi; y++ {
		row := src.Pix[(sy+y-src.Rect.Min.Y)*src.Stride:]
		col0 := sx - src.Rect.Min.X // the column of source index 0
		out := tmp[(y-ylo)*w*4 : (y-ylo+1)*w*4]
		for x := range w {
			ws := xt.w[xt.off[x] : xt.off[x]+xt.n[x]]
			p := row[(col0+xt.start[x])*4 : (col0+xt.start[x]+len(ws))*4]
			var r, g, bl, a float32
			for j, wt := range ws {
				q := p[4*j : 4*j+4]
				r += wt * float32(q[0])
				g += wt * float32(q[1])
				bl += wt * float32(q[2])
				a += wt * float32(q[3])
			}
			o := out[4*x : 4*x+4]
			o[0], o[1], o[2], o[3] = r, g, bl, a
		}
	}
	// Vertical pass into dst, rounded to 8 bits.
	for y := range h {
		clear(acc)
		ws := yt.w[yt.off[y] : yt.off[y]+yt.n[y]]
		for j, wt := range ws {
			in := tmp[(yt.start[y]+j-ylo)*w*4:][:4*w]
			for i, v := range in {
				acc[i] += wt * v
			}
		}
		o := dst.Pix[y*dst.Stride : y*dst.Stride+4*w]
		for i, v := range acc {
			o[i] = uint8(min(max(v+0.5, 0), 255))
		}
	}
}
