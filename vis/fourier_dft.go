package vis

import (
	"math"
	"runtime"
	"sync"

	"github.com/deepscope/deepscope/model"
)

// The Fourier image's inverse real DFT and its transpose as products of
// real matrices on the BLAS, and the stages between them (see
// dftMatrices).

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
// C + iS' and row h-y is C - iS', with C row y of cos·A and S' of sin·B,
// so these products need half the rows. Likewise columns x and fw-x of D:
// z[x] and z[fw-x] are the sum and difference of a cosine and a sine part
// computed once. When h (w) is a multiple of 4, rows (columns) y and
// h/2-y pair up once more (quads, xquads). As products of real matrices on
// the BLAS this runs faster here than the radix-2 FFTs of a 256 x 256 grid
// it replaced (BenchmarkFourier224), at float32 precision
// (TestFourierRoundTrip), and needs no power-of-two grid.
//
// v, ab and r hold each row's planes side by side (ld = P·2wh values),
// each plane as two halves of wh values (kx in the order of kxAt): the
// real parts, then the imaginary ones (ab's differences: the imaginary
// parts, then minus the real ones, see mixRows). r's row 2m holds row m
// of cos·A, its row 2m+1 row m of sin·B (zero for m = 0 and h/2).
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
	tmp := p.tmpRow() // with xquads, a row pair's cosine and sine parts
	defer p.putRow(tmp)
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

// tmpRow returns scratch for a row pair's cosine and sine parts (with
// xquads; else nil), from p.tmp when it has some; putRow gives it back.
func (p *fourierParam) tmpRow() []float32 {
	if !p.xquads() {
		return nil
	}
	if t, ok := p.tmp.Get().(*[]float32); ok {
		return *t
	}
	return make([]float32, 2*(cosRows(p.w)+sinRows(p.w)))
}

// putRow returns tmpRow's scratch.
func (p *fourierParam) putRow(t []float32) {
	if t != nil {
		p.tmp.Put(&t)
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
	// The four products fill the rows between them: clear them at once
	// and let each add into its part (a BLAS call with beta = 0 would
	// clear its own part row by row).
	clear(zab[:n*zw])
	model.SgemmSerial(false, false, n, q, ne, norm, r, ld, d.dce, q, 1, zab, zw)
	model.SgemmSerial(false, false, n, q, no, norm, r[ne:], ld, d.dco, q, 1, zab[q:], zw)
	model.SgemmSerial(false, false, n, q-1, ne, -norm, r[wh:], ld, d.dse, q-1, 1, zab[2*q:], zw)
	model.SgemmSerial(false, false, n, q-1, no, -norm, r[wh+ne:], ld, d.dso, q-1, 1, zab[3*q-1:], zw)
}

// xProductsT is xProducts transposed: r's rows from zab's.
func (p *fourierParam) xProductsT(r, zab []float32, n int, norm float32) {
	q, wh, zw := p.w/4+1, p.wh, p.zw
	ld := p.n * p.c * 2 * wh
	ne, no := (wh+1)/2, wh/2
	d := p.dft
	for i := range n { // the plane's part of each row, as xProducts
		clear(r[i*ld : i*ld+2*wh])
	}
	model.SgemmSerial(false, true, n, ne, q, norm, zab, zw, d.dce, q, 1, r, ld)
	model.SgemmSerial(false, true, n, no, q, norm, zab[q:], zw, d.dco, q, 1, r[ne:], ld)
	model.SgemmSerial(false, true, n, ne, q-1, -norm, zab[2*q:], zw, d.dse, q-1, 1, r[wh:], ld)
	model.SgemmSerial(false, true, n, no, q-1, -norm, zab[3*q-1:], zw, d.dso, q-1, 1, r[wh+ne:], ld)
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
	tmp := p.tmpRow() // with xquads, a row pair's cosine and sine parts
	defer p.putRow(tmp)
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
