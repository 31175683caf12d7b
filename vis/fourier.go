package vis

import (
	"math"
	"math/bits"
	"math/cmplx"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/dsp/fourier"
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

// fourierParam is the Fourier parameterization. The spectrum lives on an
// fh x fw grid of powers of two at least the image's size (256 x 256 for
// 224 x 224), and the image is the grid's top-left h x w corner: radix-2/4
// FFTs are several times faster than mixed-radix ones, and the image need
// not wrap around at its edges. The variables are, for each image and
// channel, the fh x (fw/2+1) complex half-spectrum stored as interleaved
// real and imaginary parts.
type fourierParam struct {
	n, c, h, w  int
	fh, fw, wh  int       // FFT grid, wh = fw/2 + 1
	v           []float32 // n*c*fh*wh*2
	scale       []float64 // fh*wh, including sqrt(fh*fw) and the final /4
	decorrelate bool
	mix, unmix  [3][3]float64
	// sig holds the sigmoid outputs of the last render.
	sig []float32
	z   []float64 // c*h*w
	// work holds each channel's buffers, so that channels run in parallel.
	work []fourierWork
}

// fourierWork is one channel's FFT buffers.
type fourierWork struct {
	spec   []complex128 // fh*wh
	canvas []float64    // fh*fw
}

// newFourierParam returns a Fourier parameterization with a zero spectrum
// (every pixel 0.5). decay is the power of the 1/f scaling (1 in Lucid).
func newFourierParam(n, c, h, w int, decay float64, decorrelate, bgr bool) *fourierParam {
	fh, fw := pow2AtLeast(h), pow2AtLeast(w)
	wh := fw/2 + 1
	p := &fourierParam{n: n, c: c, h: h, w: w, fh: fh, fw: fw, wh: wh,
		v:           make([]float32, n*c*fh*wh*2),
		scale:       make([]float64, fh*wh),
		decorrelate: decorrelate && c == 3,
		sig:         make([]float32, n*c*h*w),
		z:           make([]float64, c*h*w),
		work:        make([]fourierWork, c),
	}
	for ch := range p.work {
		p.work[ch] = fourierWork{spec: make([]complex128, fh*wh), canvas: make([]float64, fh*fw)}
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
	return p
}

// pow2AtLeast returns the smallest power of two >= max(n, 2).
func pow2AtLeast(n int) int {
	p := 2
	for p < n {
		p *= 2
	}
	return p
}

// fft transforms x in place: the unnormalised forward DFT (e^{-iθ}) or,
// with inverse, the unnormalised inverse (e^{+iθ}). len(x) is a power of 2.
func fft(x []complex128, inverse bool) {
	pow4 := bits.TrailingZeros(uint(len(x)))%2 == 0
	switch {
	case pow4 && inverse:
		fourier.SequenceRadix4(x)
	case pow4:
		fourier.CoefficientsRadix4(x)
	case inverse:
		fourier.SequenceRadix2(x)
	default:
		fourier.CoefficientsRadix2(x)
	}
}

func (p *fourierParam) vars() []float32 { return p.v }
func (p *fourierParam) project()        {}

// plane returns the variables of image i, channel ch.
func (p *fourierParam) plane(i, ch int) []float32 {
	k := 2 * p.fh * p.wh
	off := (i*p.c + ch) * k
	return p.v[off : off+k]
}

// columns transforms the wh columns of every channel's spectrum along ky,
// spread over the processors.
func (p *fourierParam) columns(inverse bool) {
	fh, wh := p.fh, p.wh
	parallelTasks(p.c*wh, func(lo, hi int) {
		col := make([]complex128, fh)
		for u := lo; u < hi; u++ {
			spec, kx := p.work[u/wh].spec, u%wh
			for ky := range fh {
				col[ky] = spec[ky*wh+kx]
			}
			fft(col, inverse)
			for ky := range fh {
				spec[ky*wh+kx] = col[ky]
			}
		}
	})
}

// inverseRows turns the half-spectrum rows 0..h-1 of every channel's
// spectrum into real rows (the first w values of each, times norm, go to
// the channel's h x w plane of out), two rows per complex transform: with A
// and B Hermitian-extended (the imaginary parts of their DC and Nyquist
// terms dropped), IDFT(A + iB) = a + ib.
func (p *fourierParam) inverseRows(out []float64, norm float64) {
	h, w, fw, wh := p.h, p.w, p.fw, p.wh
	pairs := (h + 1) / 2
	parallelTasks(p.c*pairs, func(lo, hi int) {
		buf := make([]complex128, fw)
		for u := lo; u < hi; u++ {
			ch, y := u/pairs, 2*(u%pairs)
			spec, o := p.work[ch].spec, out[ch*h*w:(ch+1)*h*w]
			a := spec[y*wh : (y+1)*wh]
			var b []complex128 // the second row, absent past the end
			if y+1 < h {
				b = spec[(y+1)*wh : (y+2)*wh]
			}
			for k := range fw {
				var ak, bk complex128
				switch {
				case k == 0 || k == fw/2:
					ak = complex(real(a[k]), 0)
					if len(b) > 0 {
						bk = complex(real(b[k]), 0)
					}
				case k < fw/2:
					ak = a[k]
					if len(b) > 0 {
						bk = b[k]
					}
				default:
					ak = cmplx.Conj(a[fw-k])
					if len(b) > 0 {
						bk = cmplx.Conj(b[fw-k])
					}
				}
				buf[k] = ak + complex(-imag(bk), real(bk)) // ak + i bk
			}
			fft(buf, true)
			for x := range w {
				o[y*w+x] = real(buf[x]) * norm
				if y+1 < h {
					o[(y+1)*w+x] = imag(buf[x]) * norm
				}
			}
		}
	})
}

// forwardRows sets rows 0..fh-1 of every channel's spectrum to the
// half-spectra of the real rows of its canvas (rows x fw values used, rows
// beyond them zero).
func (p *fourierParam) forwardRows(rows int) {
	canvas := make([][]float64, p.c)
	for ch := range p.c {
		canvas[ch] = p.work[ch].canvas
	}
	p.forwardRowsOf(canvas, p.fw, p.fw, rows, 1)
}

// forwardRowsOf sets rows 0..fh-1 of every channel's spectrum to the
// half-spectra of norm times the real rows of src[ch] (rows rows of width
// values each, stride apart; zero beyond them), two rows per complex
// transform: with Z = DFT(a + ib), A[k] = (Z[k] + conj Z[-k])/2 and B[k] =
// (Z[k] - conj Z[-k])/2i.
func (p *fourierParam) forwardRowsOf(src [][]float64, stride, width, rows int, norm float64) {
	fw, wh := p.fw, p.wh
	pairs := p.fh / 2
	parallelTasks(p.c*pairs, func(lo, hi int) {
		buf := make([]complex128, fw)
		for u := lo; u < hi; u++ {
			ch, y := u/pairs, 2*(u%pairs)
			spec, in := p.work[ch].spec, src[ch]
			if y >= rows {
				clear(spec[y*wh : (y+2)*wh])
				continue
			}
			a := in[y*stride : y*stride+width]
			if y+1 < rows {
				b := in[(y+1)*stride : (y+1)*stride+width]
				for x := range width {
					buf[x] = complex(a[x]*norm, b[x]*norm)
				}
			} else {
				for x := range width {
					buf[x] = complex(a[x]*norm, 0)
				}
			}
			clear(buf[width:])
			fft(buf, false)
			for k := range wh {
				z, zc := buf[k], cmplx.Conj(buf[(fw-k)%fw])
				spec[y*wh+k] = (z + zc) * 0.5
				spec[(y+1)*wh+k] = (z - zc) * complex(0, -0.5)
			}
		}
	})
}

// render computes z by an inverse 2-D real FFT of each scaled spectrum
// (cropped to h x w), then mixes the colours and applies the sigmoid.
func (p *fourierParam) render(px []float32) {
	h, w := p.h, p.w
	norm := 1 / float64(p.fh*p.fw)
	for i := range p.n {
		p.scaledColumns(i)
		p.inverseRows(p.z, norm)
		p.finish(p.z, px[i*p.c*h*w:(i+1)*p.c*h*w], p.sig[i*p.c*h*w:(i+1)*p.c*h*w])
	}
}

// finish mixes the colours of z (c planes) and applies the sigmoid.
func (p *fourierParam) finish(z []float64, px, sig []float32) {
	hw := p.h * p.w
	if !p.decorrelate {
		parallelRange(p.c*hw, func(lo, hi int) {
			for j := lo; j < hi; j++ {
				s := fastSigmoid(z[j])
				sig[j], px[j] = s, s
			}
		})
		return
	}
	m := p.mix
	parallelRange(hw, func(lo, hi int) {
		z0, z1, z2 := z[lo:hi], z[hw+lo:hw+hi], z[2*hw+lo:2*hw+hi]
		s0, s1, s2 := sig[lo:hi], sig[hw+lo:hw+hi], sig[2*hw+lo:2*hw+hi]
		p0, p1, p2 := px[lo:hi], px[hw+lo:hw+hi], px[2*hw+lo:2*hw+hi]
		for j, a := range z0 {
			b, c := z1[j], z2[j]
			y0 := fastSigmoid(m[0][0]*a + m[0][1]*b + m[0][2]*c)
			y1 := fastSigmoid(m[1][0]*a + m[1][1]*b + m[1][2]*c)
			y2 := fastSigmoid(m[2][0]*a + m[2][1]*b + m[2][2]*c)
			s0[j], s1[j], s2[j] = y0, y1, y2
			p0[j], p1[j], p2[j] = y0, y1, y2
		}
	})
}

// backprop applies the chain rule backwards through the sigmoid, the colour
// mixing, the crop and the inverse FFT. With x = Σ_ky Σ_kx c_kx Re(X e^{iθ})
// the unnormalised real inverse (c_kx = 1 for the DC and Nyquist columns, 2
// for the others; the imaginary parts of those columns' terms are dropped),
// dJ/dRe X = c_kx Re G and dJ/dIm X = c_kx Im G, where G is the forward DFT
// of dJ/dx (zero outside the crop).
func (p *fourierParam) backprop(gpx, gv []float32) {
	h, w := p.h, p.w
	hw := h * w
	norm := 1 / float64(p.fh*p.fw)
	for i := range p.n {
		sig := p.sig[i*p.c*hw : (i+1)*p.c*hw]
		g := gpx[i*p.c*hw : (i+1)*p.c*hw]
		if p.decorrelate {
			m := p.mix
			parallelRange(hw, func(lo, hi int) {
				z0, z1, z2 := p.z[lo:hi], p.z[hw+lo:hw+hi], p.z[2*hw+lo:2*hw+hi]
				s0, s1, s2 := sig[lo:hi], sig[hw+lo:hw+hi], sig[2*hw+lo:2*hw+hi]
				g0, g1, g2 := g[lo:hi], g[hw+lo:hw+hi], g[2*hw+lo:2*hw+hi]
				for j := range z0 {
					a := float64(g0[j]) * float64(s0[j]) * (1 - float64(s0[j]))
					b := float64(g1[j]) * float64(s1[j]) * (1 - float64(s1[j]))
					c := float64(g2[j]) * float64(s2[j]) * (1 - float64(s2[j]))
					z0[j] = m[0][0]*a + m[1][0]*b + m[2][0]*c
					z1[j] = m[0][1]*a + m[1][1]*b + m[2][1]*c
					z2[j] = m[0][2]*a + m[1][2]*b + m[2][2]*c
				}
			})
		} else {
			parallelRange(p.c*hw, func(lo, hi int) {
				for j := lo; j < hi; j++ {
					s := float64(sig[j])
					p.z[j] = float64(g[j]) * s * (1 - s)
				}
			})
		}
		planes := make([][]float64, p.c)
		for ch := range p.c {
			planes[ch] = p.z[ch*hw : (ch+1)*hw]
		}
		p.forwardRowsOf(planes, w, w, h, norm)
		p.columnsToVars(i, gv)
	}
}

// scaledColumns sets every channel's spectrum to the inverse transform
// along ky of image i's scaled variables (the first step of render: one
// pass over the variables, spread over the processors).
func (p *fourierParam) scaledColumns(i int) {
	fh, wh := p.fh, p.wh
	parallelTasks(p.c*wh, func(lo, hi int) {
		col := make([]complex128, fh)
		for u := lo; u < hi; u++ {
			ch, kx := u/wh, u%wh
			spec, v := p.work[ch].spec, p.plane(i, ch)
			for ky := range fh {
				j := ky*wh + kx
				col[ky] = complex(float64(v[2*j])*p.scale[j], float64(v[2*j+1])*p.scale[j])
			}
			fft(col, true)
			for ky := range fh {
				spec[ky*wh+kx] = col[ky]
			}
		}
	})
}

// columnsToVars transforms every channel's spectrum along ky (forward) and
// writes dJ/d(variables of image i) into gv: c_kx · scale times the real
// and imaginary parts (the last step of backprop).
func (p *fourierParam) columnsToVars(i int, gv []float32) {
	fh, wh, fw := p.fh, p.wh, p.fw
	k := 2 * fh * wh
	parallelTasks(p.c*wh, func(lo, hi int) {
		col := make([]complex128, fh)
		for u := lo; u < hi; u++ {
			ch, kx := u/wh, u%wh
			spec := p.work[ch].spec
			out := gv[(i*p.c+ch)*k : (i*p.c+ch+1)*k]
			for ky := range fh {
				col[ky] = spec[ky*wh+kx]
			}
			fft(col, false)
			c := 2.0
			if kx == 0 || kx == fw/2 {
				c = 1
			}
			for ky := range fh {
				j := ky*wh + kx
				s := c * p.scale[j]
				out[2*j] = float32(real(col[ky]) * s)
				out[2*j+1] = float32(imag(col[ky]) * s)
			}
		}
	})
}

// setPixels sets the spectrum of image i so that it renders px (c*h*w
// pixels in (0, 1); values are clamped to [1e-4, 1-1e-4] first): the
// inverse of render. The grid beyond the image is filled by mirroring it,
// which keeps the spectrum free of the jumps a constant border would add.
func (p *fourierParam) setPixels(i int, px []float32) {
	h, w, fh, fw := p.h, p.w, p.fh, p.fw
	hw := h * w
	for j := range hw {
		var y [3]float64
		for ch := range p.c {
			q := math.Min(math.Max(float64(px[ch*hw+j]), 1e-4), 1-1e-4)
			y[ch] = math.Log(q / (1 - q))
		}
		for d := range p.c {
			if p.decorrelate {
				p.z[d*hw+j] = p.unmix[d][0]*y[0] + p.unmix[d][1]*y[1] + p.unmix[d][2]*y[2]
			} else {
				p.z[d*hw+j] = y[d]
			}
		}
	}
	for ch := range p.c {
		z, canvas := p.z[ch*hw:(ch+1)*hw], p.work[ch].canvas
		for y := range fh {
			for x := range fw {
				canvas[y*fw+x] = z[mirror(y, h)*w+mirror(x, w)]
			}
		}
	}
	p.forwardRows(fh)
	p.columns(false)
	// render: z = IDFT(X·scale)/(fh·fw) and IDFT(DFT(z)) = fh·fw·z, so
	// X = DFT(z) / scale.
	for ch := range p.c {
		spec, v := p.work[ch].spec, p.plane(i, ch)
		for k := range spec {
			v[2*k] = float32(real(spec[k]) / p.scale[k])
			v[2*k+1] = float32(imag(spec[k]) / p.scale[k])
		}
	}
}

// mirror maps i >= n back into [0, n) by reflecting about the last index
// (and clamps what a reflection cannot reach).
func mirror(i, n int) int {
	if i < n {
		return i
	}
	return max(0, 2*(n-1)-i)
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
	for i, x := range p.v {
		lo, hi := float32(0), float32(1)
		if p.lo != nil {
			lo, hi = p.lo[i], p.hi[i]
		}
		if !(x >= lo) { // also NaN
			x = lo
		}
		p.v[i] = min(x, hi)
	}
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

// parallelTasks splits [0, n) into one chunk per processor (at most n)
// and runs f on the chunks concurrently: for tasks as heavy as one FFT
// each, which parallelRange would run in one chunk when there are fewer
// than 4096.
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

// fastSigmoid returns 1/(1+e^-y) to float32 precision (within 2e-7 of it,
// by TestFastSigmoid) without calling math.Exp: e^-y = 2^n e^r with
// |r| <= ln2/2 and e^r by its Taylor polynomial of degree 8 (relative
// error < 1e-9). Beyond |y| = 80 it returns 1 or about e^-80.
func fastSigmoid(y float64) float32 {
	t := -y
	if t > 80 {
		t = 80
	} else if t < -80 || t != t {
		t = -80
	}
	n := math.Floor(t*math.Log2E + 0.5)
	r := t - n*math.Ln2
	e := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720+r*(1.0/5040+r*(1.0/40320))))))))
	e *= math.Float64frombits(uint64(int64(n)+1023) << 52)
	return float32(1 / (1 + e))
}
