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
	parallelRange(p.c*wh, func(lo, hi int) {
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
	parallelRange(p.c*pairs, func(lo, hi int) {
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
// beyond them zero), two rows per complex transform: with Z = DFT(a + ib),
// A[k] = (Z[k] + conj Z[-k])/2 and B[k] = (Z[k] - conj Z[-k])/2i.
func (p *fourierParam) forwardRows(rows int) {
	fw, wh := p.fw, p.wh
	pairs := p.fh / 2
	parallelRange(p.c*pairs, func(lo, hi int) {
		buf := make([]complex128, fw)
		for u := lo; u < hi; u++ {
			ch, y := u/pairs, 2*(u%pairs)
			spec, in := p.work[ch].spec, p.work[ch].canvas
			if y >= rows {
				clear(spec[y*wh : (y+2)*wh])
				continue
			}
			for x := range fw {
				b := 0.0
				if y+1 < rows {
					b = in[(y+1)*fw+x]
				}
				buf[x] = complex(in[y*fw+x], b)
			}
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
		for ch := range p.c {
			spec, v := p.work[ch].spec, p.plane(i, ch)
			for k := range spec {
				spec[k] = complex(float64(v[2*k])*p.scale[k], float64(v[2*k+1])*p.scale[k])
			}
		}
		p.columns(true)
		p.inverseRows(p.z, norm)
		p.finish(p.z, px[i*p.c*h*w:(i+1)*p.c*h*w], p.sig[i*p.c*h*w:(i+1)*p.c*h*w])
	}
}

// finish mixes the colours of z (c planes) and applies the sigmoid.
func (p *fourierParam) finish(z []float64, px, sig []float32) {
	hw := p.h * p.w
	parallelRange(hw, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			for ch := range p.c {
				y := z[ch*hw+j]
				if p.decorrelate {
					y = p.mix[ch][0]*z[j] + p.mix[ch][1]*z[hw+j] + p.mix[ch][2]*z[2*hw+j]
				}
				s := float32(1 / (1 + math.Exp(-y)))
				sig[ch*hw+j] = s
				px[ch*hw+j] = s
			}
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
	h, w, fw, wh := p.h, p.w, p.fw, p.wh
	hw := h * w
	norm := 1 / float64(p.fh*p.fw)
	for i := range p.n {
		sig := p.sig[i*p.c*hw : (i+1)*p.c*hw]
		g := gpx[i*p.c*hw : (i+1)*p.c*hw]
		parallelRange(hw, func(lo, hi int) {
			for j := lo; j < hi; j++ {
				var gy [3]float64
				for ch := range p.c {
					s := float64(sig[ch*hw+j])
					gy[ch] = float64(g[ch*hw+j]) * s * (1 - s)
				}
				for d := range p.c {
					if p.decorrelate {
						p.z[d*hw+j] = p.mix[0][d]*gy[0] + p.mix[1][d]*gy[1] + p.mix[2][d]*gy[2]
					} else {
						p.z[d*hw+j] = gy[d]
					}
				}
			}
		})
		for ch := range p.c {
			z, canvas := p.z[ch*hw:(ch+1)*hw], p.work[ch].canvas
			for y := range h {
				row := canvas[y*fw : (y+1)*fw]
				for x := range w {
					row[x] = z[y*w+x] * norm
				}
				clear(row[w:])
			}
		}
		p.forwardRows(h)
		p.columns(false)
		k := 2 * p.fh * wh
		for ch := range p.c {
			spec := p.work[ch].spec
			out := gv[(i*p.c+ch)*k : (i*p.c+ch+1)*k]
			for ky := range p.fh {
				for kx := range wh {
					j := ky*wh + kx
					c := 2.0
					if kx == 0 || kx == fw/2 {
						c = 1
					}
					s := c * p.scale[j]
					out[2*j] = float32(real(spec[j]) * s)
					out[2*j+1] = float32(imag(spec[j]) * s)
				}
			}
		}
	}
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

// parallelRange splits [0, n) into one chunk per processor and runs f on
// the chunks concurrently.
func parallelRange(n int, f func(lo, hi int)) {
	k := min(runtime.GOMAXPROCS(0), max(1, n/4096))
	parallelFor(k, func(i int) { f(i*n/k, (i+1)*n/k) })
}
