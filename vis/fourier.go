package vis

import (
	"math"
	"sync"
)

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
	tmp sync.Pool // of *[]float32, see tmpRow
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

func (p *fourierParam) vars() []float32 { return p.v }
func (p *fourierParam) project()        {}

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
