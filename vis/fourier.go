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
// variables are its h x (w/2+1) complex half-spectrum S, as in Lucid: the
// optimizer steps each real and imaginary part (Adam in another basis,
// such as the sums and differences below, draws streaks along the axes).
// They are stored by pairs of rows: S[ky] on row ky (ky = 0..h/2) and
// S[h-ky] on row h/2+ky (ky = 1..(h-1)/2), each row the planes side by
// side, each plane the real parts of kx = 0..w/2 then the imaginary ones.
// render first forms their scaled sums and differences (mixRows), which
// its products take (see dftMatrices).
type fourierParam struct {
	n, c, h, w  int
	fh, fw, wh  int       // the spectrum's grid (h x w), wh = fw/2 + 1
	v           []float32 // fh x ld, see above
	scale       []float64 // fh*wh by ky, kx, including sqrt(fh*fw) and the final /4
	scale32     []float32 // scale as float32, by ky and the position of kx in a row (see xquads)
	decorrelate bool
	mix, unmix  [3][3]float64
	// sig holds the sigmoid outputs of the last render (the caller's
	// pixels), z its inputs before the colour mixing (n*c*h*w; backprop
	// reuses z for dJ/dz).
	sig, z []float32
	// render and backprop are dense products on the BLAS (see
	// dftMatrices), for the P = n*c planes at once:
	// dft: ec, es, h x nc cos and h x ns sin of 2π·ky·y/fh, ky from 0 and
	// 1; dc, ds, wh x (fw/2+1) c_kx·cos and wh x (fw-1)/2 c_kx·sin of
	// 2π·kx·x/fw, x from 0 and 1 (see dftCache).
	dft *dftMats
	ab  []float32 // fh x ld: the scaled sums (rows ky = 0..h/2) and differences (rows h/2+ky) of v's pairs
	r   []float32 // 2yc x ld: row 2m cos·sums, row 2m+1 sin·differences (m = 1..ys; else 0), yc = h/2+1
	zab []float32 // P·2yc x zw: per plane and row of r, products along x (see render)
	zw  int       // zab's row length
	t   []float32 // with quads, 4 blocks of h/4+1 rows x ld: the products of even and odd ky
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
	for ky := range fh {
		for pos := range wh {
			p.scale32[ky*wh+pos] = float32(p.scale[ky*wh+p.kxAt(pos)])
		}
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
// Columns ky and fh-ky of E share their cosines and negate their sines,
// so E S = cos·A + i·sin·B over half the columns, with A and B the sums and
// differences of rows ky and fh-ky of S, scaled (ab, which mixRows forms
// from the variables). So do its rows y and h-y (fh = h): row y of E S is
// C + iS' and
// row h-y is C - iS', with C row y of cos·A and S' of sin·B, so these
// products need half the rows. Likewise columns x and fw-x of D: z[x] and
// z[fw-x] are the sum and difference of a cosine and a sine part computed
// once. As products of real matrices on the BLAS this runs faster here
// than the radix-2 FFTs of a 256 x 256 grid it replaced
// (BenchmarkFourier224), at float32 precision (TestFourierRoundTrip), and
// needs no power-of-two grid.
//
// v, ab and r hold each row's planes side by side (ld = P·2wh values),
// each plane as two halves of wh values (for kx = 0..wh-1): the real
// parts, then the imaginary ones (ab's differences: the imaginary parts,
// then minus the real ones, see mixRows).
func (p *fourierParam) dftMatrices() {
	h, w, fh, fw, wh := p.h, p.w, p.fh, p.fw, p.wh
	m := dftCache(h, w, fh, fw)
	p.dft = m
	ld := p.n * p.c * 2 * wh
	p.ab = make([]float32, fh*ld)
	p.r = make([]float32, 2*cosRows(h)*ld)
	p.zw = w
	if p.xquads() {
		p.zw = max(w, 4*(w/4+1)-2)
	}
	p.zab = make([]float32, p.n*p.c*2*cosRows(h)*p.zw)
	if p.quads() {
		p.t = make([]float32, 4*(h/4+1)*ld)
	}
}

// dftMats are the constant matrices of dftMatrices for one image and grid
// size, shared read-only by every parameterization of that size.
type dftMats struct {
	ec, es, dc, ds []float32
	// For an h that is a multiple of 4 (see quads), rows m = 0..h/4 of
	// the cos of even and odd ky and the sin of odd and even ky.
	ece, eco, eso, ese []float32
	// For a w that is a multiple of 4 (see xquads), columns x = 0..w/4 of
	// c_kx·cos for even and odd kx, and x = 1..w/4 of c_kx·sin.
	dce, dco, dse, dso []float32
}

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
	if h%4 == 0 && fh == h {
		q, ne, no, so, se := h/4+1, (nc+1)/2, nc/2, (ns+1)/2, ns/2
		m.ece, m.eco, m.eso, m.ese = make([]float32, q*ne), make([]float32, q*no), make([]float32, q*so), make([]float32, q*se)
		trig := func(f func(float64) float64, ky, y int) float32 {
			return float32(f(2 * math.Pi * float64(ky*y%h) / float64(h)))
		}
		for y := range q {
			for j := range ne {
				m.ece[y*ne+j] = trig(math.Cos, 2*j, y)
			}
			for j := range no {
				m.eco[y*no+j] = trig(math.Cos, 2*j+1, y)
			}
			for j := range so {
				m.eso[y*so+j] = trig(math.Sin, 2*j+1, y)
			}
			for j := range se {
				m.ese[y*se+j] = trig(math.Sin, 2*j+2, y)
			}
		}
	}
	if fw%4 == 0 && fw >= 8 && fw == w {
		q := fw/4 + 1
		ne, no := (wh+1)/2, wh/2
		m.dce, m.dco, m.dse, m.dso = make([]float32, ne*q), make([]float32, no*q), make([]float32, ne*(q-1)), make([]float32, no*(q-1))
		for j := range wh {
			kx := 2 * (j % ne)
			cos, sin, col := m.dce, m.dse, j
			if j >= ne {
				kx, cos, sin, col = 2*(j-ne)+1, m.dco, m.dso, j-ne
			}
			c := columnWeight(kx, fw)
			for x := range q {
				sn, cs := math.Sincos(2 * math.Pi * float64(kx*x%fw) / float64(fw))
				cos[col*q+x] = float32(c * cs)
				if x > 0 {
					sin[col*(q-1)+x-1] = float32(c * sn)
				}
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

// mixRows sets ab to the scaled sums and differences of v's pairs of rows
// (see dftMatrices): with a = S[ky]·scale and b = S[h-ky]·scale, row ky of
// ab holds [Re(a+b) | Im(a+b)] and row h/2+ky holds [Im(a-b) | Re(b-a)];
// rows 0 and h/2 (even h) hold S·scale alone.
func (p *fourierParam) mixRows(ab, v []float32) {
	p.pairRows(ab, v, false)
}

// unmixRows is mixRows transposed: it sets g to dJ/dv given dJ/dab in gab.
func (p *fourierParam) unmixRows(g, gab []float32) {
	p.pairRows(g, gab, true)
}

// pairRows is mixRows, or with back its transpose.
func (p *fourierParam) pairRows(dst, src []float32, back bool) {
	fh, wh := p.fh, p.wh
	half, nc, ns := fh/2, cosRows(fh), sinRows(fh)
	planes, row := p.n*p.c, 2*wh
	ld := planes * row
	parallelTasks(nc, func(lo, hi int) {
		for ky := lo; ky < hi; ky++ {
			k := p.scale32[ky*wh : (ky+1)*wh]
			if ky == 0 || ky > ns { // alone
				for q := ky * ld; q < (ky+1)*ld; q += row {
					scalePlane(dst[q:q+wh], src[q:q+wh], k)
					scalePlane(dst[q+wh:q+row], src[q+wh:q+row], k)
				}
				continue
			}
			a, b := ky*ld, (half+ky)*ld // the rows of the pair
			for q := 0; q < ld; q += row {
				a0, a1, b0, b1 := a+q, a+q+wh, b+q, b+q+wh
				if !back {
					// Re(a+b), Re(b-a) from the real parts; Im(a+b),
					// Im(a-b) from the imaginary ones.
					sumDiffScale(dst[a0:a0+wh], dst[b1:b1+wh], src[b0:b0+wh], src[a0:a0+wh], k)
					sumDiffScale(dst[a1:a1+wh], dst[b0:b0+wh], src[a1:a1+wh], src[b1:b1+wh], k)
					continue
				}
				// dJ/dRe b = k(g_s0 + g_d1), dJ/dRe a = k(g_s0 - g_d1);
				// dJ/dIm a = k(g_s1 + g_d0), dJ/dIm b = k(g_s1 - g_d0).
				sumDiffScale(dst[b0:b0+wh], dst[a0:a0+wh], src[a0:a0+wh], src[b1:b1+wh], k)
				sumDiffScale(dst[a1:a1+wh], dst[b1:b1+wh], src[a1:a1+wh], src[b0:b0+wh], k)
			}
		}
	})
}

// sumDiffScale sets s to k·(a + b) and d to k·(a - b), elementwise (len(k)
// values).
func sumDiffScale(s, d, a, b, k []float32) {
	n := len(k)
	s, d, a, b = s[:n], d[:n], a[:n], b[:n]
	j := 0
	if useAVX { // kernels_amd64.s, for all but the last few values
		if j = n &^ 7; j > 0 {
			sumDiffScaleAVX(&s[0], &d[0], &a[0], &b[0], &k[0], j)
		}
	}
	for ; j < n; j++ {
		x, y := a[j], b[j]
		s[j], d[j] = k[j]*(x+y), k[j]*(x-y)
	}
}

// scalePlane sets dst to k·src elementwise.
func scalePlane(dst, src, k []float32) {
	dst, src = dst[:len(k)], src[:len(k)]
	for i, f := range k {
		dst[i] = src[i] * f
	}
}

// pairs returns how image rows pair up for plane rows m of [lo, hi): m
// with h-m. Rows m = 0 and, for an even h, h/2 are alone; the others have
// a sine row, h/2+m of r, for m in [slo, shi). The partners h-m of
// [lo, hi) are the image rows [plo, phi).
func (p *fourierParam) pairs(lo, hi int) (slo, shi, plo, phi int) {
	h := p.h
	ys := sinRows(h)
	slo, shi = max(lo, 1), min(hi, ys+1)
	if slo >= shi {
		return slo, slo, h, h
	}
	return slo, shi, h - shi + 1, h - slo + 1
}

// render computes z, the inverse 2-D real DFT of each scaled spectrum
// (products on the BLAS, see dftMatrices), then mixes the colours and
// applies the sigmoid, into px.
func (p *fourierParam) render(px []float32) {
	p.sig = px
	p.mixRows(p.ab, p.v)
	h := p.h
	if !p.quads() {
		parallelTasks(cosRows(h), func(lo, hi int) {
			p.rowsFromVars(lo, hi)
			p.renderRows(px, lo, hi)
		})
		return
	}
	parallelTasks(h/4+1, func(lo, hi int) {
		p.quadsFromVars(lo, hi)
		p.renderRows(px, lo, hi)
		if a, b := p.quadPartners(lo, hi); a < b {
			p.renderRows(px, a, b)
		}
	})
}

// quads reports whether the products along y split once more (an h that
// is a multiple of 4, the image's own grid): as cos(2π·ky·(h/2-m)/h) =
// (-1)^ky·cos(2π·ky·m/h) and sin(2π·ky·(h/2-m)/h) = -(-1)^ky·sin(2π·ky·m/h),
// rows m and h/2-m of cos·sums are E + O and E - O with E and O the
// products of the even and the odd ky, and those of sin·differences
// E' + O' and O' - E': products over a quarter of the rows (m = 0..h/4)
// and half the terms each, half the arithmetic.
func (p *fourierParam) quads() bool { return p.h%4 == 0 && p.h >= 8 && p.fh == p.h }

// xquads reports whether the products along x split the same way (a w
// that is a multiple of 4, the image's own grid): cosine parts at x and
// w/2-x are E + O and E - O, with E and O the sums over the even and the
// odd kx, and sine parts there E' + O' and O' - E', for x = 0..w/4. Each
// row then keeps the even kx first, then the odd ones (kxAt), so that
// each sum is a product over a block of columns.
func (p *fourierParam) xquads() bool { return p.w%4 == 0 && p.w >= 8 && p.fw == p.w }

// kxAt returns the kx at position pos of a row's half (see xquads).
func (p *fourierParam) kxAt(pos int) int {
	if !p.xquads() {
		return pos
	}
	if ne := (p.wh + 1) / 2; pos >= ne {
		return 2*(pos-ne) + 1
	}
	return 2 * pos
}

// posOf returns the position of kx in a row's half: kxAt's inverse.
func (p *fourierParam) posOf(kx int) int {
	if !p.xquads() {
		return kx
	}
	if kx%2 == 1 {
		return (p.wh+1)/2 + kx/2
	}
	return kx / 2
}

// quadPartners returns the rows h/2-m of quad rows m of [lo, hi) that are
// not quad rows themselves: [a, b).
func (p *fourierParam) quadPartners(lo, hi int) (a, b int) {
	h := p.h
	return max(h/2-hi+1, h/4+1), h/2 - lo + 1
}

// rowsFromVars computes rows m of [lo, hi) of r from the variables: r's
// rows 2m are cos·sums, its rows 2m+1 (m = 1..ys) sin·differences (see
// dftMatrices), the variables being scaled.
func (p *fourierParam) rowsFromVars(lo, hi int) {
	nc, ns := cosRows(p.fh), sinRows(p.fh)
	ld := p.n * p.c * 2 * p.wh
	slo, shi, _, _ := p.pairs(lo, hi)
	model.SgemmSerial(false, false, hi-lo, ld, nc, 1, p.dft.ec[lo*nc:], nc, p.ab, ld, 0, p.r[2*lo*ld:], 2*ld)
	if slo < shi && ns > 0 {
		model.SgemmSerial(false, false, shi-slo, ld, ns, 1, p.dft.es[slo*ns:], ns, p.ab[nc*ld:], ld, 0, p.r[(2*slo+1)*ld:], 2*ld)
	}
}

// quadBlocks returns the four blocks of t, h/4+1 rows of ld each: the
// products of the cos of even and odd ky and of the sin of even and odd ky.
func (p *fourierParam) quadBlocks() (ce, co, se, so []float32) {
	k := (p.h/4 + 1) * p.n * p.c * 2 * p.wh
	return p.t[:k], p.t[k : 2*k], p.t[2*k : 3*k], p.t[3*k:]
}

// quadsFromVars computes rows m and h/2-m of r for quad rows m of [lo, hi)
// (see quads).
func (p *fourierParam) quadsFromVars(lo, hi int) {
	h, nc, ns := p.h, cosRows(p.fh), sinRows(p.fh)
	ld := p.n * p.c * 2 * p.wh
	ne, no, so, se := (nc+1)/2, nc/2, (ns+1)/2, ns/2
	d := p.dft
	tce, tco, tse, tso := p.quadBlocks()
	n := hi - lo
	// The even ky of the sums are v's rows 0, 2, ..., the odd ones 1, 3,
	// ...; the differences start at ky = 1 on row nc.
	model.SgemmSerial(false, false, n, ld, ne, 1, d.ece[lo*ne:], ne, p.ab, 2*ld, 0, tce[lo*ld:], ld)
	model.SgemmSerial(false, false, n, ld, no, 1, d.eco[lo*no:], no, p.ab[ld:], 2*ld, 0, tco[lo*ld:], ld)
	model.SgemmSerial(false, false, n, ld, so, 1, d.eso[lo*so:], so, p.ab[nc*ld:], 2*ld, 0, tso[lo*ld:], ld)
	model.SgemmSerial(false, false, n, ld, se, 1, d.ese[lo*se:], se, p.ab[(nc+1)*ld:], 2*ld, 0, tse[lo*ld:], ld)
	for m := lo; m < hi; m++ {
		e, o := tce[m*ld:(m+1)*ld], tco[m*ld:(m+1)*ld]
		es, os := tse[m*ld:(m+1)*ld], tso[m*ld:(m+1)*ld]
		mp := h/2 - m
		sumDiff(p.r[2*m*ld:(2*m+1)*ld], p.r[2*mp*ld:(2*mp+1)*ld], e, o, mp != m)
		if m > 0 { // row 0 and h/2 have no sin row
			sumDiff(p.r[(2*m+1)*ld:(2*m+2)*ld], p.r[(2*mp+1)*ld:(2*mp+2)*ld], os, es, mp != m)
		}
	}
}

// sumDiff sets s = a + b and, with both, d = a - b.
func sumDiff(s, d, a, b []float32, both bool) {
	n := len(a)
	s, b = s[:n], b[:n]
	if !both {
		for i, x := range a {
			s[i] = x + b[i]
		}
		return
	}
	d = d[:n]
	i := 0
	if useAVX { // kernels_amd64.s
		if i = n &^ 7; i > 0 {
			sumDiffAVX(&s[0], &d[0], &a[0], &b[0], i)
		}
	}
	for ; i < n; i++ {
		x, y := a[i], b[i]
		s[i], d[i] = x+y, x-y
	}
}

// renderRows computes the image rows of the row pairs m, h-m for m of
// [lo, hi) from r's rows: row m of E S is C + iS' and row h-m is C - iS'
// (C = c_re + i·c_im from r's cos rows, S' = s_re + i·s_im from its
// sin rows); z = Re((E S) D)/(fh·fw) splits into a cosine part Re(·)·dc
// (x = 0..fw/2) and a sine part -Im(·)·ds (x = 1..xs), so with
// A1 = c_re·dc, A2 = -c_im·ds, B1 = s_im·dc, B2 = s_re·ds: row m has the
// cosine part A1 - B1 and the sine part A2 - B2, row h-m A1 + B1 and
// A2 + B2. A cos row of r holds [c_re | c_im] and a sin row
// [s_im | -s_re] (the differences' variables are stored so), so one
// product by dc and one by -ds give zab's row 2m of a plane
// [A1 | A2] and its row 2m+1 [B1 | B2]; z[x] = cos + sin and
// z[fw-x] = cos - sin.
func (p *fourierParam) renderRows(px []float32, lo, hi int) {
	h, w, wh := p.h, p.w, p.wh
	planes, row := p.n*p.c, 2*wh
	ld := planes * row
	yc := cosRows(h)
	xc, xs := cosRows(p.fw), sinRows(p.fw)
	norm := float32(1 / float64(p.fh*p.fw))
	chw := p.c * h * w
	slo, shi, plo, phi := p.pairs(lo, hi)
	zw, xq := p.zw, p.xquads()
	var tmp []float32 // with xquads, a row pair's cosine and sine parts
	if xq {
		tmp = make([]float32, 2*(xc+xs))
	}
	for q := range planes {
		r, zab := p.r[2*lo*ld+q*row:], p.zab[(q*2*yc+2*lo)*zw:]
		if xq {
			p.xProducts(zab, r, 2*(hi-lo), norm)
		} else {
			model.SgemmSerial(false, false, 2*(hi-lo), xc, wh, norm, r, ld, p.dft.dc, xc, 0, zab, zw)
			model.SgemmSerial(false, false, 2*(hi-lo), xs, wh, -norm, r[wh:], ld, p.dft.ds, max(xs, 1), 0, zab[xc:], zw)
		}
		for m := lo; m < hi; m++ {
			a := p.zab[(q*2*yc+2*m)*zw : (q*2*yc+2*m+1)*zw]
			b := p.zab[(q*2*yc+2*m+1)*zw : (q*2*yc+2*m+2)*zw]
			if xq { // the cosine and sine parts from their even and odd sums
				a1, a2, b1, b2 := tmp[:xc], tmp[xc:xc+xs], tmp[xc+xs:2*xc+xs], tmp[2*xc+xs:]
				p.halfUnfold(a1, a2, a)
				p.halfUnfold(b1, b2, b)
				a, b = tmp[:xc+xs], tmp[xc+xs:]
			}
			zm := p.z[(q*h+m)*w : (q*h+m+1)*w]
			if m < slo || m >= shi { // alone
				unfold(zm, a[:xc], a[xc:xc+xs])
				continue
			}
			zp := p.z[(q*h+h-m)*w : (q*h+h-m+1)*w]
			unfoldPair(zm, zp, a[:xc], a[xc:xc+xs], b[:xc], b[xc:xc+xs])
		}
	}
	for i := range p.n {
		z, out := p.z[i*chw:(i+1)*chw], px[i*chw:(i+1)*chw]
		p.finish(z, out, lo*w, hi*w)
		if plo < phi {
			p.finish(z, out, plo*w, phi*w)
		}
	}
}

// xProducts writes, for n rows of r (from a plane's first column, ld
// apart), the even and odd sums of their cosine and sine parts (see
// xquads) into zab's rows (zw apart): [Ec | Oc] for x = 0..w/4, then
// [Es | Os] for x = 1..w/4, each times norm (the sine parts times -norm,
// as render's second product).
func (p *fourierParam) xProducts(zab, r []float32, n int, norm float32) {
	q, wh, zw := p.w/4+1, p.wh, p.zw
	ld := p.n * p.c * 2 * wh
	ne, no := (wh+1)/2, wh/2
	d := p.dft
	model.SgemmSerial(false, false, n, q, ne, norm, r, ld, d.dce, q, 0, zab, zw)
	model.SgemmSerial(false, false, n, q, no, norm, r[ne:], ld, d.dco, q, 0, zab[q:], zw)
	model.SgemmSerial(false, false, n, q-1, ne, -norm, r[wh:], ld, d.dse, q-1, 0, zab[2*q:], zw)
	model.SgemmSerial(false, false, n, q-1, no, -norm, r[wh+ne:], ld, d.dso, q-1, 0, zab[3*q-1:], zw)
}

// xProductsT is xProducts transposed: r's rows from zab's.
func (p *fourierParam) xProductsT(r, zab []float32, n int, norm float32) {
	q, wh, zw := p.w/4+1, p.wh, p.zw
	ld := p.n * p.c * 2 * wh
	ne, no := (wh+1)/2, wh/2
	d := p.dft
	model.SgemmSerial(false, true, n, ne, q, norm, zab, zw, d.dce, q, 0, r, ld)
	model.SgemmSerial(false, true, n, no, q, norm, zab[q:], zw, d.dco, q, 0, r[ne:], ld)
	model.SgemmSerial(false, true, n, ne, q-1, -norm, zab[2*q:], zw, d.dse, q-1, 0, r[wh:], ld)
	model.SgemmSerial(false, true, n, no, q-1, -norm, zab[3*q-1:], zw, d.dso, q-1, 0, r[wh+ne:], ld)
}

// halfUnfold sets a row's cosine part cs (x = 0..w/2) and sine part sn (x
// = 1..w/2-1) from the even and odd sums in z (see xProducts): cs[x] =
// E + O and cs[w/2-x] = E - O, sn at x = E' + O' and at w/2-x O' - E'.
func (p *fourierParam) halfUnfold(cs, sn, z []float32) {
	q, half := p.w/4+1, p.w/2
	ec, oc, es, os := z[:q], z[q:2*q], z[2*q:3*q-1], z[3*q-1:4*q-2]
	cs, sn = cs[:half+1], sn[:half-1]
	mirror(cs[:q-1], cs[half-q+2:], ec[:q-1], oc[:q-1])
	cs[q-1] = ec[q-1] + oc[q-1] // x = w/4, its own mirror
	mirror(sn[:q-2], sn[half-q+1:half-1], os[:q-2], es[:q-2])
	sn[q-2] = es[q-2] + os[q-2]
}

// halfFold is halfUnfold transposed: the even and odd sums' gradient into
// z from those of the cosine and sine parts.
func (p *fourierParam) halfFold(z, cs, sn []float32) {
	q, half := p.w/4+1, p.w/2
	ec, oc, es, os := z[:q], z[q:2*q], z[2*q:3*q-1], z[3*q-1:4*q-2]
	cs, sn = cs[:half+1], sn[:half-1]
	foldMirror(ec[:q-1], oc[:q-1], cs[:q-1], cs[half-q+2:])
	ec[q-1], oc[q-1] = cs[q-1], cs[q-1]
	foldMirror(os[:q-2], es[:q-2], sn[:q-2], sn[half-q+1:half-1])
	es[q-2], os[q-2] = sn[q-2], sn[q-2]
}

// mirror sets fwd[i] = a[i] + b[i] and back[len(back)-1-i] = a[i] - b[i]
// (len(a) values each).
func mirror(fwd, back, a, b []float32) {
	n := len(a)
	fwd, back, b = fwd[:n], back[:n], b[:n]
	i := 0
	if useAVX { // kernels_amd64.s
		if i = n &^ 7; i > 0 {
			mirrorAVX(&fwd[0], &back[n-1], &a[0], &b[0], i)
		}
	}
	for ; i < n; i++ {
		x, y := a[i], b[i]
		fwd[i], back[n-1-i] = x+y, x-y
	}
}

// foldMirror is mirror transposed: s[i] = a[i] + back[len(back)-1-i] and
// d[i] = a[i] - back[len(back)-1-i].
func foldMirror(s, d, a, back []float32) {
	n := len(a)
	s, d, back = s[:n], d[:n], back[:n]
	i := 0
	if useAVX { // kernels_amd64.s
		if i = n &^ 7; i > 0 {
			foldMirrorAVX(&s[0], &d[0], &a[0], &back[n-1], i)
		}
	}
	for ; i < n; i++ {
		x, y := a[i], back[n-1-i]
		s[i], d[i] = x+y, x-y
	}
}

// unfold sets z (w values) to the row of a cosine part cs (x = 0..w/2) and
// a sine part sn (x = 1..(w-1)/2): z[x] = cs[x] + sn[x-1], z[w-x] =
// cs[x] - sn[x-1].
func unfold(z, cs, sn []float32) {
	w := len(z)
	copy(z[:len(cs)], cs)
	for x := 1; x <= len(sn); x++ {
		a, b := cs[x], sn[x-1]
		z[x], z[w-x] = a+b, a-b
	}
}

// unfoldPair is unfold of rows m (cosine part a1 - b1, sine part a2 - b2)
// and h-m (a1 + b1, a2 + b2) of render, into zm and zp.
func unfoldPair(zm, zp, a1, a2, b1, b2 []float32) {
	w := len(zm)
	xc, xs := len(a1), len(a2)
	zp, a2, b1, b2 = zp[:w], a2[:xs], b1[:xc], b2[:xs]
	zm[0], zp[0] = a1[0]-b1[0], a1[0]+b1[0]
	x0 := 1
	if n := xs &^ 7; useAVX && n > 0 { // kernels_amd64.s
		unfoldPairAVX(&zm[0], &zp[0], &a1[0], &a2[0], &b1[0], &b2[0], n, w)
		x0 += n
	}
	for x := x0; x <= xs; x++ {
		c, s, d, t := a1[x], a2[x-1], b1[x], b2[x-1]
		cm, sm, cp, sp := c-d, s-t, c+d, s+t
		zm[x], zm[w-x] = cm+sm, cm-sm
		zp[x], zp[w-x] = cp+sp, cp-sp
	}
	for x := xs + 1; x < xc; x++ { // the Nyquist column of an even w
		zm[x], zp[x] = a1[x]-b1[x], a1[x]+b1[x]
	}
}

// fold is the adjoint of unfold: cs[x] = g[x] + g[w-x] (g[x] alone for x = 0
// and w/2), sn[x-1] = g[x] - g[w-x].
func fold(cs, sn, g []float32) {
	w := len(g)
	copy(cs, g[:len(cs)])
	for x := 1; x <= len(sn); x++ {
		a, b := g[x], g[w-x]
		cs[x], sn[x-1] = a+b, a-b
	}
}

// foldPair is the adjoint of unfoldPair: the folds of gm + gp into a1, a2
// and of gp - gm into b1, b2.
func foldPair(a1, a2, b1, b2, gm, gp []float32) {
	w := len(gm)
	xc, xs := len(a1), len(a2)
	gp, a2, b1, b2 = gp[:w], a2[:xs], b1[:xc], b2[:xs]
	a1[0], b1[0] = gm[0]+gp[0], gp[0]-gm[0]
	x0 := 1
	if n := xs &^ 7; useAVX && n > 0 { // kernels_amd64.s
		foldPairAVX(&a1[0], &a2[0], &b1[0], &b2[0], &gm[0], &gp[0], n, w)
		x0 += n
	}
	for x := x0; x <= xs; x++ {
		m0, m1, p0, p1 := gm[x], gm[w-x], gp[x], gp[w-x]
		s0, s1, d0, d1 := m0+p0, m1+p1, p0-m0, p1-m1
		a1[x], a2[x-1] = s0+s1, s0-s1
		b1[x], b2[x-1] = d0+d1, d0-d1
	}
	for x := xs + 1; x < xc; x++ {
		a1[x], b1[x] = gm[x]+gp[x], gp[x]-gm[x]
	}
}

// finish mixes the colours of pixels [lo, hi) of z (c planes) and applies
// the sigmoid, into px.
func (p *fourierParam) finish(z, px []float32, lo, hi int) {
	hw := p.h * p.w
	if p.decorrelate {
		var m [3][3]float32
		for a := range 3 {
			for b := range 3 {
				m[a][b] = float32(p.mix[a][b])
			}
		}
		sigmoidMix3(px, z, hw, lo, hi, &m)
		return
	}
	for ch := range p.c {
		a, b := ch*hw+lo, ch*hw+hi
		sigmoidPlane(px[a:b], z[a:b])
	}
}

// backprop applies the chain rule backwards through the sigmoid, the colour
// mixing and the inverse DFT (spectrumGrad). The pixels of the last render
// must not have changed since.
func (p *fourierParam) backprop(gpx, gv []float32) {
	hw, chw := p.h*p.w, p.c*p.h*p.w
	gz := p.z            // dJ/dz, over render's z
	var mt [3][3]float32 // the mixing transposed; a gradient needs no more precision
	for a := range 3 {
		for b := range 3 {
			mt[a][b] = float32(p.mix[b][a])
		}
	}
	// dJ/dz of pixels [lo, hi) of every image, on each processor's share of
	// the rows as spectrumGrad goes on with them.
	p.spectrumGrad(gz, gv, func(lo, hi int) {
		for i := range p.n {
			sig := p.sig[i*chw : (i+1)*chw]
			g, z := gpx[i*chw:(i+1)*chw], gz[i*chw:(i+1)*chw]
			if p.decorrelate {
				sigmoidGradMix3(z, g, sig, hw, lo, hi, &mt)
				continue
			}
			for ch := range p.c {
				for j := ch*hw + lo; j < ch*hw+hi; j++ {
					s := sig[j]
					z[j] = g[j] * s * (1 - s)
				}
			}
		}
	})
}

// spectrumGrad sets gv to dJ/d(variables) given dJ/dz in gz (n*c planes
// of h x w), back through render's products (see render): the folds of
// rows m + (h-m) give dJ/d[A1 | A2] and those of (h-m) - m dJ/d[B1 | B2],
// from which dJ/dc_re = fold·dcᵀ, dJ/dc_im = -fold·dsᵀ, dJ/ds_im =
// fold·dcᵀ and dJ/ds_re = fold·dsᵀ (times 1/(fh·fw)), then the products
// along y transposed and the scale. fill, when set, is called first on
// each processor's share of the pixels (of every plane: [lo, hi) of each
// h x w plane) to write those of gz.
func (p *fourierParam) spectrumGrad(gz, gv []float32, fill func(lo, hi int)) {
	p.adjointDFT(gz, fill)
	p.unmixRows(gv, p.ab)
}

// adjointDFT sets ab to dJ/dab given dJ/dz in gz: render's products
// transposed (see spectrumGrad).
func (p *fourierParam) adjointDFT(gz []float32, fill func(lo, hi int)) {
	gv := p.ab
	h, fh, wh := p.h, p.fh, p.wh
	nc, ns := cosRows(fh), sinRows(fh)
	ld := p.n * p.c * 2 * wh
	yc, ys := cosRows(h), sinRows(h)
	d := p.dft
	if !p.quads() {
		parallelTasks(yc, func(lo, hi int) { p.gradRows(gz, fill, lo, hi) })
		// dJ/d(sums) = cosᵀ·(r's cos rows), dJ/d(differences) =
		// sinᵀ·(its sin rows), of the variables as they are (scaled).
		both(func() { sideGemm(true, false, nc, ld, yc, 1, d.ec, nc, p.r, 2*ld, 0, gv, ld) }, func() {
			if ys > 0 && ns > 0 {
				sideGemm(true, false, ns, ld, ys, 1, d.es[ns:], ns, p.r[3*ld:], 2*ld, 0, gv[nc*ld:], ld)
			} else {
				clear(gv[nc*ld:])
			}
		})
		return
	}
	q := h/4 + 1
	tce, tco, tse, tso := p.quadBlocks()
	parallelTasks(q, func(lo, hi int) {
		p.gradRows(gz, fill, lo, hi)
		if a, b := p.quadPartners(lo, hi); a < b {
			p.gradRows(gz, fill, a, b)
		}
		// The adjoint of quadsFromVars' sums and differences.
		for m := lo; m < hi; m++ {
			mp := h/2 - m
			cm, cp := p.r[2*m*ld:(2*m+1)*ld], p.r[2*mp*ld:(2*mp+1)*ld]
			if mp == m { // row h/4: E + O alone
				copy(tce[m*ld:(m+1)*ld], cm)
				copy(tco[m*ld:(m+1)*ld], cm)
			} else {
				sumDiff(tce[m*ld:(m+1)*ld], tco[m*ld:(m+1)*ld], cm, cp, true)
			}
			es, os := tse[m*ld:(m+1)*ld], tso[m*ld:(m+1)*ld]
			switch sm, sp := p.r[(2*m+1)*ld:(2*m+2)*ld], p.r[(2*mp+1)*ld:(2*mp+2)*ld]; {
			case m == 0:
				clear(es)
				clear(os)
			case mp == m:
				copy(es, sm)
				copy(os, sm)
			default:
				sumDiff(os, es, sm, sp, true)
			}
		}
	})
	ne, no, so, se := (nc+1)/2, nc/2, (ns+1)/2, ns/2
	both(func() {
		sideGemm(true, false, ne, ld, q, 1, d.ece, ne, tce, ld, 0, gv, 2*ld)
		sideGemm(true, false, no, ld, q, 1, d.eco, no, tco, ld, 0, gv[ld:], 2*ld)
	}, func() {
		sideGemm(true, false, so, ld, q, 1, d.eso, so, tso, ld, 0, gv[nc*ld:], 2*ld)
		sideGemm(true, false, se, ld, q, 1, d.ese, se, tse, ld, 0, gv[(nc+1)*ld:], 2*ld)
	})
}

// gradRows writes r's rows of the row pairs m, h-m for m of [lo, hi)
// given dJ/dz in gz, as spectrumGrad: the folds of image rows m + (h-m)
// and (h-m) - m along x, then the products along x transposed. fill, when
// set, first writes those rows of gz.
func (p *fourierParam) gradRows(gz []float32, fill func(lo, hi int), lo, hi int) {
	h, w, wh := p.h, p.w, p.wh
	planes, row := p.n*p.c, 2*wh
	ld := planes * row
	xc, xs := cosRows(w), sinRows(w)
	yc := cosRows(h)
	norm := float32(1 / float64(p.fh*p.fw))
	slo, shi, plo, phi := p.pairs(lo, hi)
	if fill != nil {
		fill(lo*w, hi*w)
		if plo < phi {
			fill(plo*w, phi*w)
		}
	}
	zw, xq := p.zw, p.xquads()
	var tmp []float32 // with xquads, a row pair's cosine and sine parts
	if xq {
		tmp = make([]float32, 2*(xc+xs))
	}
	for q := range planes {
		for m := lo; m < hi; m++ {
			gm := gz[(q*h+m)*w : (q*h+m+1)*w]
			za := p.zab[(q*2*yc+2*m)*zw : (q*2*yc+2*m+1)*zw]
			zb := p.zab[(q*2*yc+2*m+1)*zw : (q*2*yc+2*m+2)*zw]
			a, b := za, zb
			if xq {
				a, b = tmp[:xc+xs], tmp[xc+xs:]
			}
			if m < slo || m >= shi {
				fold(a[:xc], a[xc:xc+xs], gm)
				clear(b) // no sin row: r's row stays 0
			} else {
				gp := gz[(q*h+h-m)*w : (q*h+h-m+1)*w]
				foldPair(a[:xc], a[xc:xc+xs], b[:xc], b[xc:xc+xs], gm, gp)
			}
			if xq {
				p.halfFold(za, a[:xc], a[xc:xc+xs])
				p.halfFold(zb, b[:xc], b[xc:xc+xs])
			}
		}
		zab, r := p.zab[(q*2*yc+2*lo)*zw:], p.r[2*lo*ld+q*row:]
		if xq {
			p.xProductsT(r, zab, 2*(hi-lo), norm)
			continue
		}
		model.SgemmSerial(false, true, 2*(hi-lo), wh, xc, norm, zab, zw, p.dft.dc, xc, 0, r, ld)
		model.SgemmSerial(false, true, 2*(hi-lo), wh, xs, -norm, zab[xc:], zw, p.dft.ds, max(xs, 1), 0, r[wh:], ld)
	}
}

// setPixels sets the spectrum of image i so that it renders px (c*h*w
// pixels in (0, 1); values are clamped to [1e-4, 1-1e-4] first): the
// inverse of render. The products of render are those of a matrix L with
// orthogonal columns: L's transpose (spectrumGrad) of the log-odds z
// (unmixed), divided by the squared norms of L's columns (columnNorm),
// gives the (scaled) variables.
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
	p.adjointDFT(p.z, nil) // Lᵀz
	wh, row := p.wh, 2*p.wh
	planes := p.n * p.c
	for j := range p.fh {
		for q := range planes {
			for k := range row {
				at := (j*planes+q)*row + k
				if q/p.c != i {
					p.ab[at] = 0 // the other images are not this call's
					continue
				}
				n := p.columnNorm(j, p.kxAt(k%wh), k >= wh)
				if n == 0 {
					p.ab[at] = 0 // moves no pixel
					continue
				}
				p.ab[at] = float32(float64(p.ab[at]) / n)
			}
		}
	}
	// v from ab = P v (mixRows), whose columns are orthogonal: v = Pᵀ ab
	// over their squared norms, 2·scale² for a pair of rows, scale² alone.
	g := make([]float32, len(p.v))
	p.unmixRows(g, p.ab)
	nc, ns := cosRows(p.fh), sinRows(p.fh)
	for j := range p.fh {
		ky := j
		if j >= nc {
			ky = j - p.fh/2
		}
		pair := 2.0
		if ky == 0 || ky > ns {
			pair = 1
		}
		for q := i * p.c; q < (i+1)*p.c; q++ {
			for k := range row {
				at := (j*planes+q)*row + k
				sc := p.scale[ky*wh+p.kxAt(k%wh)]
				p.v[at] = float32(float64(g[at]) / (pair * sc * sc))
			}
		}
	}
}

// columnNorm is the squared norm of the column of render's products (L,
// see setPixels) for row j of v and the real (or, with im, imaginary)
// part of kx:
// the sum over the image of (1/(fh·fw) · its cosine or sine along y · c_kx
// times its cosine or sine along x)².
func (p *fourierParam) columnNorm(j, kx int, im bool) float64 {
	nc := cosRows(p.fh)
	ny := float64(p.h) / 2 // Σ_y cos² or sin² of a frequency other than 0 and h/2
	if j < nc && (j == 0 || 2*j == p.fh) {
		ny = float64(p.h) // Σ cos² of 0 or π·y
	}
	// Along x a sum's real part and a difference's imaginary part (the
	// first of each kx's pair, see render) go with the cosine, the others
	// with the sine.
	sine := im
	edge := kx == 0 || 2*kx == p.fw
	nx := float64(p.w) / 2
	switch {
	case edge && sine:
		return 0 // sin 0, sin πx
	case edge:
		nx = float64(p.w)
	}
	c := columnWeight(kx, p.fw)
	norm := 1 / float64(p.fh*p.fw)
	return norm * norm * ny * nx * c * c
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
