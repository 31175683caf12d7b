package vis

import (
	"math"
	"runtime"
	"sync"

	"github.com/deepscope/deepscope/model"
)

// Image parameterizations: what the optimizer's variables are and how they
// become pixels (0..1, in the network's channel order, N x C x H x W).
//
// The pixel parameterization optimizes the pixels themselves, kept inside
// per-pixel bounds. The Fourier parameterization of Olah et al. 2017
// (Lucid's and Lucent's image(..., fft=True, decorrelate=True)) optimizes
// the spectrum of decorrelated log-odds, which whitens the gradient: a
// plain gradient step then changes every spatial frequency and colour
// direction about equally, instead of pushing the high-frequency noise
// that pixel-space gradients are dominated by.
//
//	z_c = irfft2(S_c · scale) / 4          scale(f) = sqrt(H·W) / max(f, 1/max(H, W))^decay
//	y   = M z                              (colour decorrelation, per pixel, 3 channels)
//	p   = sigmoid(y)
//
// irfft2 is the inverse real 2-D DFT normalised by 1/(H·W) (with the
// sqrt(H·W) in scale, a unitary transform), f the frequency in cycles per
// pixel, and M the square root of ImageNet's colour covariance
// (Lucid's color_correlation_svd_sqrt) divided by its largest column norm.

// Parameterization names (Recipe.Param).
const (
	ParamFourier = "fourier"
	ParamPixel   = "pixel"
)

// param is an image parameterization of n images of c x h x w pixels.
type param interface {
	// vars are the optimized variables.
	vars() []float32
	// render writes the pixels of the variables into px (n*c*h*w values).
	render(px []float32)
	// backprop turns dJ/d(pixels of the last render) into dJ/d(vars),
	// written into gv.
	backprop(gpx, gv []float32)
	// project moves the variables back into their domain after a step.
	project()
}

// colorSqrt is the square root of ImageNet's RGB colour covariance
// (Olah et al. 2017, Lucid's color_correlation_svd_sqrt).
var colorSqrt = [3][3]float64{
	{0.26, 0.09, 0.02},
	{0.27, 0.00, -0.05},
	{0.27, -0.09, 0.03},
}

// decorrelation returns colorSqrt divided by its largest column norm, with
// its rows in the network's channel order (reversed for BGR).
func decorrelation(bgr bool) [3][3]float64 {
	norm := 0.0
	for d := range 3 {
		s := 0.0
		for c := range 3 {
			s += colorSqrt[c][d] * colorSqrt[c][d]
		}
		norm = math.Max(norm, math.Sqrt(s))
	}
	var m [3][3]float64
	for c := range 3 {
		src := c
		if bgr {
			src = 2 - c
		}
		for d := range 3 {
			m[c][d] = colorSqrt[src][d] / norm
		}
	}
	return m
}

// invert3 returns the inverse of a 3x3 matrix.
func invert3(m [3][3]float64) [3][3]float64 {
	det := m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) -
		m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) +
		m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
	var inv [3][3]float64
	for i := range 3 {
		for j := range 3 {
			// Cofactor of m[j][i], via cyclic indices.
			a, b := (j+1)%3, (j+2)%3
			c, d := (i+1)%3, (i+2)%3
			inv[i][j] = (m[a][c]*m[b][d] - m[a][d]*m[b][c]) / det
		}
	}
	return inv
}

// fourierParam is the Fourier parameterization. The spectrum lives on the
// image's own h x w grid, as in Lucid (so the image is periodic), and the
// variables are, for each image and channel, the h x (w/2+1) complex
// half-spectrum stored as interleaved real and imaginary parts.
type fourierParam struct {
	n, c, h, w  int
	fh, fw, wh  int       // the spectrum's grid (h x w), wh = fw/2 + 1
	v           []float32 // n*c*fh*wh*2
	scale       []float64 // fh*wh, including sqrt(fh*fw) and the final /4
	decorrelate bool
	mix, unmix  [3][3]float64
	// sig holds the sigmoid outputs of the last render, z its inputs
	// before the colour mixing (n*c*h*w; backprop reuses z for dJ/dz).
	sig, z []float32
	// render and backprop are dense products on the BLAS (the inverse
	// real DFT of a spectrum S is Re(E S D), see
	// dftMatrices); for the P = n*c planes at once:
	scale32 []float32 // scale as float32
	ec, es  []float32 // h x nc cos and h x ns sin of 2π·ky·y/fh, ky from 0 and 1 (see dftCache)
	dc, ds  []float32 // wh x (fw/2+1) c_kx·cos and wh x (fw-1)/2 c_kx·sin of 2π·kx·x/fw, x from 0 and 1
	ab      []float32 // fh x P·2wh: sums and differences of the scaled rows ky and fh-ky
	r       []float32 // h x P·2wh: rows y = 0..h/2 Re(E)·S, then rows y = 1..(h-1)/2 Im(E)·S (see render)
	u       []float32 // P·h x 2wh: [Re T | -Im T], T = E S (then [Re W | Im W] in backprop)
	zab     []float32 // P·h x w: the columns x <= fw/2 and the sine parts (see render)
}

// newFourierParam returns a Fourier parameterization with a zero spectrum
// (every pixel 0.5). decay is the power of the 1/f scaling (1 in Lucid).
func newFourierParam(n, c, h, w int, decay float64, decorrelate, bgr bool) *fourierParam {
	fh, fw := h, w
	wh := fw/2 + 1
	p := &fourierParam{n: n, c: c, h: h, w: w, fh: fh, fw: fw, wh: wh,
		v:           make([]float32, n*c*fh*wh*2),
		scale:       make([]float64, fh*wh),
		decorrelate: decorrelate && c == 3,
		sig:         make([]float32, n*c*h*w),
		z:           make([]float32, n*c*h*w),
	}
	if p.decorrelate {
		p.mix = decorrelation(bgr)
		p.unmix = invert3(p.mix)
	}
	floor := 1 / float64(max(fh, fw))
	for ky := range fh {
		fy := float64(ky) / float64(fh)
		if ky > (fh-1)/2 { // numpy's fftfreq: the upper half is negative
			fy = float64(ky-fh) / float64(fh)
		}
		for kx := range wh {
			fx := float64(kx) / float64(fw)
			f := math.Max(math.Hypot(fx, fy), floor)
			p.scale[ky*wh+kx] = math.Sqrt(float64(fh*fw)) / math.Pow(f, decay) / 4
		}
	}
	p.scale32 = make([]float32, len(p.scale))
	for j, v := range p.scale {
		p.scale32[j] = float32(v)
	}
	p.dftMatrices()
	return p
}

// dftMatrices fills the matrices and buffers of render and backprop. The
// inverse real DFT that render takes of each (scaled) half-spectrum S,
// fh x wh (fh = h, fw = w), is
//
//	z[y][x] = 1/(fh·fw) Σ_ky Σ_kx c_kx Re(S[ky][kx] e^{2πi(ky·y/fh + kx·x/fw)})
//	        = 1/(fh·fw) Re(E S D),  E[y][ky] = e^{2πi·ky·y/fh},  D[kx][x] = c_kx e^{2πi·kx·x/fw}
//
// with c_kx = 2 but 1 for the DC and Nyquist columns (whose imaginary part
// then multiplies sin 0 = sin πx = 0): what a Hermitian-extended inverse
// FFT computes (for an even fw; an odd one has no Nyquist column).
// Columns ky and fh-ky of E share their cosines and negate their sines, so
// Re(E)·S = cos·(S[ky] + S[fh-ky]) and Im(E)·S = sin·(S[ky] - S[fh-ky])
// over half the columns; so do its rows y and h-y (fh = h), so these
// products are computed for half the rows too; likewise columns x and fw-x
// of D, so z[x] and z[fw-x] are the sum and difference of a cosine and a
// sine part computed once. As products of real matrices on the BLAS this
// runs faster here than
// the radix-2 FFTs of a 256 x 256 grid it replaced (BenchmarkFourier224),
// at float32 precision (TestFourierRoundTrip), and needs no power-of-two
// grid.
func (p *fourierParam) dftMatrices() {
	h, w, fh, fw, wh := p.h, p.w, p.fh, p.fw, p.wh
	m := dftCache(h, w, fh, fw)
	p.ec, p.es, p.dc, p.ds = m.ec, m.es, m.dc, m.ds
	planes := p.n * p.c
	ld := planes * 2 * wh
	p.ab = make([]float32, fh*ld)
	p.r = make([]float32, h*ld)
	p.u = make([]float32, planes*h*2*wh)
	p.zab = make([]float32, planes*h*w)
}

// dftMats are the constant matrices of dftMatrices for one image and grid
// size, shared read-only by every parameterization of that size.
type dftMats struct{ ec, es, dc, ds []float32 }

var dftMemo sync.Map // [4]int{h, w, fh, fw} -> *dftMats

// dftCache returns the matrices for an h x w image on an fh x fw grid,
// computing them on first use (about 10^5 sines and cosines).
func dftCache(h, w, fh, fw int) *dftMats {
	key := [4]int{h, w, fh, fw}
	if m, ok := dftMemo.Load(key); ok {
		return m.(*dftMats)
	}
	nc, ns, wh := cosRows(fh), sinRows(fh), fw/2+1
	xc, xs := cosRows(fw), sinRows(fw)
	m := &dftMats{ec: make([]float32, h*nc), es: make([]float32, h*ns), dc: make([]float32, wh*xc), ds: make([]float32, wh*xs)}
	for y := range h {
		for ky := range nc {
			sin, cos := math.Sincos(2 * math.Pi * float64(ky*y%fh) / float64(fh))
			m.ec[y*nc+ky] = float32(cos)
			if ky > 0 && ky <= ns {
				m.es[y*ns+ky-1] = float32(sin)
			}
		}
	}
	for kx := range wh {
		c := columnWeight(kx, fw)
		for x := range xc {
			sin, cos := math.Sincos(2 * math.Pi * float64(kx*x%fw) / float64(fw))
			m.dc[kx*xc+x] = float32(c * cos)
			if x > 0 && x <= xs {
				m.ds[kx*xs+x-1] = float32(c * sin)
			}
		}
	}
	v, _ := dftMemo.LoadOrStore(key, m)
	return v.(*dftMats)
}

// cosRows is the number of rows ky = 0, 1, ... whose sums with their mirror
// fh-ky (or themselves: rows 0 and, for even fh, fh/2) the render takes:
// fh/2+1. sinRows is the number of differences, rows 1 .. (fh-1)/2. They
// add up to fh: row half+ky of ab holds difference ky (half = fh/2).
func cosRows(fh int) int { return fh/2 + 1 }

// sinRows: see cosRows.
func sinRows(fh int) int { return (fh - 1) / 2 }

// columnWeight is c_kx: 1 for the DC column and, for an even width, the
// Nyquist column, else 2 (the column stands for kx and fw-kx).
func columnWeight(kx, fw int) float64 {
	if kx == 0 || (fw%2 == 0 && kx == fw/2) {
		return 1
	}
	return 2
}

func (p *fourierParam) vars() []float32 { return p.v }
func (p *fourierParam) project()        {}

// render computes z, the inverse 2-D real DFT of each scaled spectrum
// (products on the BLAS, see dftMatrices), then mixes the
// colours and applies the sigmoid.
func (p *fourierParam) render(px []float32) {
	h, w, fh, wh := p.h, p.w, p.fh, p.wh
	half, nc, ns := fh/2, cosRows(fh), sinRows(fh)
	planes, row := p.n*p.c, 2*wh
	ld := planes * row
	// ab: rows 0..half the sums of the scaled rows ky and fh-ky (rows 0
	// and, for even fh, half alone), rows half+1.. their differences (ky =
	// 1..ns), the planes side by side.
	parallelTasks(nc, func(lo, hi int) {
		for ky := lo; ky < hi; ky++ {
			mirror := (fh - ky) % fh
			sa, sb := p.scale32[ky*wh:(ky+1)*wh], p.scale32[mirror*wh:(mirror+1)*wh]
			sum := p.ab[ky*ld : (ky+1)*ld]
			for q := range planes {
				va := p.v[(q*fh+ky)*row : (q*fh+ky+1)*row]
				s := sum[q*row : (q+1)*row]
				if mirror == ky {
					for kx, f := range sa {
						s[2*kx], s[2*kx+1] = va[2*kx]*f, va[2*kx+1]*f
					}
					continue
				}
				vb := p.v[(q*fh+mirror)*row : (q*fh+mirror+1)*row]
				d := p.ab[(half+ky)*ld+q*row : (half+ky)*ld+(q+1)*row]
				for kx, f := range sa {
					g := sb[kx]
					a0, a1, b0, b1 := va[2*kx]*f, va[2*kx+1]*f, vb[2*kx]*g, vb[2*kx+1]*g
					s[2*kx], s[2*kx+1] = a0+b0, a1+b1
					d[2*kx], d[2*kx+1] = a0-b0, a1-b1
				}
			}
		}
	})
	// r: rows y = 0..h/2 of cos·sums = Re(E)·S, then rows y = 1..ys of
	// sin·differences = Im(E)·S. As the grid is the image's (fh = h), rows
	// y and h-y of the cosines are equal and those of the sines opposite:
	// the other rows of Re(E)·S repeat these and those of Im(E)·S negate
	// them, so the products need only half the rows.
	yc, ys := cosRows(h), sinRows(h)
	both(func() { sideGemm(false, false, yc, ld, nc, 1, p.ec, nc, p.ab, ld, 0, p.r, ld) }, func() {
		if ys > 0 && ns > 0 {
			sideGemm(false, false, ys, ld, ns, 1, p.es[ns:], ns, p.ab[nc*ld:], ld, 0, p.r[yc*ld:], ld)
		}
	})
	// The rest runs on the rows of the image split between the processors,
	// each part to the end: u = [Re T | -Im T] with T = E S for its rows,
	// then z = Re(T D)/(fh·fw): the cosine part Re T·dc for x = 0..fw/2
	// and the sine part -Im T·ds for x = 1..xs, z[x] = cos + sin and
	// z[fw-x] = cos - sin, and the colours and sigmoid of its pixels.
	xc, xs := cosRows(p.fw), sinRows(p.fw)
	norm := float32(1 / float64(fh*p.fw))
	chw := p.c * h * w
	parallelTasks(h, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			m := min(y, h-y) // the row of r, and whether the sines negate
			c, s := p.r[m*ld:(m+1)*ld], []float32(nil)
			if m > 0 && m <= ys {
				s = p.r[(yc+m-1)*ld : (yc+m)*ld]
			}
			for q := range planes {
				dst := p.u[(q*h+y)*row : (q*h+y+1)*row]
				cq := c[q*row : (q+1)*row]
				switch {
				case s == nil:
					for kx := range wh {
						dst[kx], dst[wh+kx] = cq[2*kx], -cq[2*kx+1]
					}
				case m == y:
					sq := s[q*row : (q+1)*row]
					for kx := range wh {
						dst[kx], dst[wh+kx] = cq[2*kx]-sq[2*kx+1], -(cq[2*kx+1] + sq[2*kx])
					}
				default:
					sq := s[q*row : (q+1)*row]
					for kx := range wh {
						dst[kx], dst[wh+kx] = cq[2*kx]+sq[2*kx+1], -(cq[2*kx+1] - sq[2*kx])
					}
				}
			}
		}
		for q := range planes {
			u, zab := p.u[(q*h+lo)*row:], p.zab[(q*h+lo)*w:]
			model.SgemmSerial(false, false, hi-lo, xc, wh, norm, u, row, p.dc, xc, 0, zab, w)
			model.SgemmSerial(false, false, hi-lo, xs, wh, norm, u[wh:], row, p.ds, max(xs, 1), 0, zab[xc:], w)
			for y := lo; y < hi; y++ {
				i := q*h + y
				src, dst := p.zab[i*w:(i+1)*w], p.z[i*w:(i+1)*w]
				cs, sn := src[:xc], src[xc:]
				copy(dst[:xc], cs)
				for x := 1; x <= xs; x++ {
					a, b := cs[x], sn[x-1]
					dst[x], dst[w-x] = a+b, a-b
				}
			}
		}
		for i := range p.n {
			p.finish(p.z[i*chw:(i+1)*chw], px[i*chw:(i+1)*chw], p.sig[i*chw:(i+1)*chw], lo*w, hi*w)
		}
	})
}

// finish mixes the colours of pixels [lo, hi) of z (c planes) and applies
// the sigmoid, into sig and px.
func (p *fourierParam) finish(z, px, sig []float32, lo, hi int) {
	hw := p.h * p.w
	if p.decorrelate {
		var m [3][3]float32
		for a := range 3 {
			for b := range 3 {
				m[a][b] = float32(p.mix[a][b])
			}
		}
		sigmoidMix3(sig, z, hw, lo, hi, &m)
	}
	for ch := range p.c {
		a, b := ch*hw+lo, ch*hw+hi
		if !p.decorrelate {
			sigmoidPlane(sig[a:b], z[a:b])
		}
		copy(px[a:b], sig[a:b])
	}
}

// backprop applies the chain rule backwards through the sigmoid, the colour
// mixing and the inverse DFT (spectrumGrad).
func (p *fourierParam) backprop(gpx, gv []float32) {
	hw, chw := p.h*p.w, p.c*p.h*p.w
	gz := p.z           // dJ/dz, over render's z
	var m [3][3]float32 // a gradient needs no more precision
	for a := range 3 {
		for b := range 3 {
			m[a][b] = float32(p.mix[a][b])
		}
	}
	// dJ/dz of pixels [lo, hi) of every image, on each processor's share of
	// the rows as spectrumGrad goes on with them.
	p.spectrumGrad(gz, gv, func(lo, hi int) {
		for i := range p.n {
			sig := p.sig[i*chw : (i+1)*chw]
			g, z := gpx[i*chw:(i+1)*chw], gz[i*chw:(i+1)*chw]
			if !p.decorrelate {
				for ch := range p.c {
					for j := ch*hw + lo; j < ch*hw+hi; j++ {
						s := sig[j]
						z[j] = g[j] * s * (1 - s)
					}
				}
				continue
			}
			z0, z1, z2 := z[lo:hi], z[hw+lo:hw+hi], z[2*hw+lo:2*hw+hi]
			s0, s1, s2 := sig[lo:hi], sig[hw+lo:hw+hi], sig[2*hw+lo:2*hw+hi]
			g0, g1, g2 := g[lo:hi], g[hw+lo:hw+hi], g[2*hw+lo:2*hw+hi]
			for j := range z0 {
				a := g0[j] * s0[j] * (1 - s0[j])
				b := g1[j] * s1[j] * (1 - s1[j])
				c := g2[j] * s2[j] * (1 - s2[j])
				z0[j] = m[0][0]*a + m[1][0]*b + m[2][0]*c
				z1[j] = m[0][1]*a + m[1][1]*b + m[2][1]*c
				z2[j] = m[0][2]*a + m[1][2]*b + m[2][2]*c
			}
		}
	})
}

// spectrumGrad sets gv to dJ/d(variables) given dJ/dz in gz (n*c planes
// of h x w), back through z = Re(E S D)/(fh·fw): M = Eᵀ G Dᵀ gives
// dJ/dRe S = Re M/(fh·fw) and dJ/dIm S = -Im M/(fh·fw), times scale.
// fill, when set, is called first on each processor's share of the pixels
// (of every plane: [lo, hi) of each h x w plane) to write those of gz.
func (p *fourierParam) spectrumGrad(gz, gv []float32, fill func(lo, hi int)) {
	h, w, fh, wh := p.h, p.w, p.fh, p.wh
	half, nc, ns := fh/2, cosRows(fh), sinRows(fh)
	planes, row := p.n*p.c, 2*wh
	ld := planes * row
	// u = [Re W | Im W] with W = G Dᵀ: the columns x and fw-x of G folded
	// into sums (x = 0..fw/2) and differences (x = 1..xs) first, as render
	// unfolds them.
	xc, xs := cosRows(w), sinRows(w)
	parallelTasks(h, func(lo, hi int) { // each processor's share of the rows
		if fill != nil {
			fill(lo*w, hi*w)
		}
		for q := range planes {
			for y := lo; y < hi; y++ {
				i := q*h + y
				src, dst := gz[i*w:(i+1)*w], p.zab[i*w:(i+1)*w]
				copy(dst[:xc], src[:xc])
				sn := dst[xc:]
				for x := 1; x <= xs; x++ {
					a, b := src[x], src[w-x]
					dst[x], sn[x-1] = a+b, a-b
				}
			}
			zab, u := p.zab[(q*h+lo)*w:], p.u[(q*h+lo)*row:]
			model.SgemmSerial(false, true, hi-lo, wh, xc, 1, zab, w, p.dc, xc, 0, u, row)
			model.SgemmSerial(false, true, hi-lo, wh, xs, 1, zab[xc:], w, p.ds, max(xs, 1), 0, u[wh:], row)
		}
	})
	// M = Eᵀ W. Row ky of Re(E)ᵀ·W sums cos(2π·ky·y/h)·W[y] over y, in
	// which rows y and h-y share their cosine (and negate their sine, as
	// fh = h; see render): so r's rows y = 0..h/2 hold [Re W, Im W] of
	// rows y and h-y added, and its rows yc+y-1 (y = 1..ys) [-Im W, Re W]
	// of row y less row h-y (interleaved per kx), and
	// cosᵀ·(the first) + sinᵀ·(the second) = [Re M, Im M].
	yc, ys := cosRows(h), sinRows(h)
	parallelTasks(yc, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			c := p.r[y*ld : (y+1)*ld]
			var s []float32
			if y > 0 && y <= ys {
				s = p.r[(yc+y-1)*ld : (yc+y)*ld]
			}
			for q := range planes {
				a := p.u[(q*h+y)*row : (q*h+y+1)*row]
				cq := c[q*row : (q+1)*row]
				if y == 0 || 2*y == h {
					for kx := range wh {
						cq[2*kx], cq[2*kx+1] = a[kx], a[wh+kx]
					}
					continue
				}
				b := p.u[(q*h+h-y)*row : (q*h+h-y+1)*row]
				sq := s[q*row : (q+1)*row]
				for kx := range wh {
					re, im, reb, imb := a[kx], a[wh+kx], b[kx], b[wh+kx]
					cq[2*kx], cq[2*kx+1] = re+reb, im+imb
					sq[2*kx], sq[2*kx+1] = imb-im, re-reb
				}
			}
		}
	})
	// ab: rows 0..half cosᵀ·(the first rows of r), rows half+1..
	// sinᵀ·(the others); row ky of M is their sum, row fh-ky their
	// difference.
	both(func() { sideGemm(true, false, nc, ld, yc, 1, p.ec, nc, p.r, ld, 0, p.ab, ld) }, func() {
		if ys > 0 && ns > 0 {
			sideGemm(true, false, ns, ld, ys, 1, p.es[ns:], ns, p.r[yc*ld:], ld, 0, p.ab[nc*ld:], ld)
		} else {
			clear(p.ab[nc*ld:])
		}
	})
	norm := float32(1 / float64(fh*p.fw))
	parallelTasks(nc, func(lo, hi int) {
		for ky := lo; ky < hi; ky++ {
			mirror := (fh - ky) % fh
			sa, sb := p.scale32[ky*wh:(ky+1)*wh], p.scale32[mirror*wh:(mirror+1)*wh]
			for q := range planes {
				c := p.ab[ky*ld+q*row : ky*ld+(q+1)*row]
				ga := gv[(q*fh+ky)*row : (q*fh+ky+1)*row]
				if mirror == ky {
					for kx, f := range sa {
						f *= norm
						ga[2*kx], ga[2*kx+1] = c[2*kx]*f, -c[2*kx+1]*f
					}
					continue
				}
				s := p.ab[(half+ky)*ld+q*row : (half+ky)*ld+(q+1)*row]
				gb := gv[(q*fh+mirror)*row : (q*fh+mirror+1)*row]
				for kx, f := range sa {
					f *= norm
					g := sb[kx] * norm
					ga[2*kx], ga[2*kx+1] = (c[2*kx]+s[2*kx])*f, -(c[2*kx+1]+s[2*kx+1])*f
					gb[2*kx], gb[2*kx+1] = (c[2*kx]-s[2*kx])*g, -(c[2*kx+1]-s[2*kx+1])*g
				}
			}
		}
	})
}

// setPixels sets the spectrum of image i so that it renders px (c*h*w
// pixels in (0, 1); values are clamped to [1e-4, 1-1e-4] first): the
// inverse of render. The spectrum of the log-odds z (unmixed) is their
// forward DFT, S = conj(M)/c_kx with M = Eᵀ Z Dᵀ as in spectrumGrad, and
// the variables are S/scale; spectrumGrad of Z gives norm·scale·conj(M).
func (p *fourierParam) setPixels(i int, px []float32) {
	hw, chw := p.h*p.w, p.c*p.h*p.w
	clear(p.z)
	z := p.z[i*chw : (i+1)*chw]
	for j := range hw {
		var y [3]float64
		for ch := range p.c {
			q := math.Min(math.Max(float64(px[ch*hw+j]), 1e-4), 1-1e-4)
			y[ch] = math.Log(q / (1 - q))
		}
		for d := range p.c {
			if p.decorrelate {
				z[d*hw+j] = float32(p.unmix[d][0]*y[0] + p.unmix[d][1]*y[1] + p.unmix[d][2]*y[2])
			} else {
				z[d*hw+j] = float32(y[d])
			}
		}
	}
	g := make([]float32, len(p.v))
	p.spectrumGrad(p.z, g, nil)
	norm := 1 / float64(p.fh*p.fw)
	k := 2 * p.fh * p.wh
	for ch := range p.c {
		off := (i*p.c + ch) * k
		v, gc := p.v[off:off+k], g[off:off+k]
		for j, sc := range p.scale {
			f := float32(1 / (norm * sc * sc * columnWeight(j%p.wh, p.fw)))
			v[2*j], v[2*j+1] = gc[2*j]*f, gc[2*j+1]*f
		}
	}
}

// pixelParam optimizes the pixels themselves, each kept within [lo, hi]
// (0 and 1 when the bounds are nil).
type pixelParam struct {
	v      []float32
	lo, hi []float32
}

func (p *pixelParam) vars() []float32            { return p.v }
func (p *pixelParam) render(px []float32)        { copy(px, p.v) }
func (p *pixelParam) backprop(gpx, gv []float32) { copy(gv, gpx) }

func (p *pixelParam) project() {
	parallelRange(len(p.v), func(a, b int) {
		v := p.v[a:b]
		if p.lo == nil {
			for i, x := range v {
				if !(x >= 0) { // also NaN
					x = 0
				} else if x > 1 {
					x = 1
				}
				v[i] = x
			}
			return
		}
		lo, hi := p.lo[a:b:b], p.hi[a:b:b]
		for i, x := range v {
			if !(x >= lo[i]) {
				x = lo[i]
			} else if x > hi[i] {
				x = hi[i]
			}
			v[i] = x
		}
	})
}

// parallelFor runs f(0) .. f(n-1) concurrently and waits for them.
func parallelFor(n int, f func(i int)) {
	if n == 1 {
		f(0)
		return
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { f(i) })
	}
	wg.Wait()
}

// sideGemm is one of two products that both runs side by side: on its own
// core when there are two (measured faster here than each product split
// over both), spread over the others when there are more.
func sideGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if runtime.GOMAXPROCS(0) > 2 {
		model.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	model.SgemmSerial(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// both runs f and g concurrently and waits for them.
func both(f, g func()) {
	parallelFor(2, func(i int) {
		if i == 0 {
			f()
		} else {
			g()
		}
	})
}

// parallelTasks splits [0, n) into one chunk per processor (at most n)
// and runs f on the chunks concurrently: for tasks as heavy as an image
// row each, which parallelRange would run in one chunk when there are
// fewer than 4096.
func parallelTasks(n int, f func(lo, hi int)) {
	k := max(1, min(runtime.GOMAXPROCS(0), n))
	parallelFor(k, func(i int) { f(i*n/k, (i+1)*n/k) })
}

// parallelRange splits [0, n) into one chunk per processor and runs f on
// the chunks concurrently.
func parallelRange(n int, f func(lo, hi int)) {
	k := min(runtime.GOMAXPROCS(0), max(1, n/4096))
	parallelFor(k, func(i int) { f(i*n/k, (i+1)*n/k) })
}
