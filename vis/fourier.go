package vis

import (
	"math"
	"math/bits"
	"math/cmplx"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/dsp/fourier"

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
	// sig holds the sigmoid outputs of the last render, z its inputs
	// before the colour mixing (n*c*h*w; backprop reuses z for dJ/dz).
	sig, z []float32
	// render and backprop are dense products on the BLAS (the inverse
	// real DFT of a spectrum S cropped to h x w is Re(E S D), see
	// dftMatrices); for the P = n*c planes at once:
	scale32 []float32 // scale as float32
	ec, es  []float32 // h x (fh/2+1) cos and h x (fh/2-1) sin of 2π·ky·y/fh, ky from 0 and 1
	d       []float32 // 2wh x w: c_kx·cos and c_kx·sin of 2π·kx·x/fw, interleaved rows
	ab      []float32 // fh x P·2wh: sums and differences of the scaled rows ky and fh-ky
	r       []float32 // 2h x P·2wh: rows y Re(E)·S, rows h+y Im(E)·S
	u       []float32 // P·h x 2wh: [Re T, -Im T] interleaved, T = E S
	// work holds each channel's FFT buffers, for setPixels.
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
		z:           make([]float32, n*c*h*w),
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
	p.scale32 = make([]float32, len(p.scale))
	for j, v := range p.scale {
		p.scale32[j] = float32(v)
	}
	p.dftMatrices()
	return p
}

// dftMatrices fills the matrices and buffers of render and backprop. The
// inverse real DFT that render takes of each (scaled) half-spectrum S,
// fh x wh, cropped to its top-left h x w, is
//
//	z[y][x] = 1/(fh·fw) Σ_ky Σ_kx c_kx Re(S[ky][kx] e^{2πi(ky·y/fh + kx·x/fw)})
//	        = 1/(fh·fw) Re(E S D),  E[y][ky] = e^{2πi·ky·y/fh},  D[kx][x] = c_kx e^{2πi·kx·x/fw}
//
// with c_kx = 2 but 1 for the DC and Nyquist columns (whose imaginary part
// then multiplies sin 0 = sin πx = 0): what a Hermitian-extended inverse
// FFT computes. Rows ky and fh-ky of E share their cosines and negate their
// sines, so Re(E)·S = cos·(S[ky] + S[fh-ky]) and Im(E)·S = sin·(S[ky] -
// S[fh-ky]) over half the rows. As products of real matrices on the BLAS
// this runs faster here than the FFTs it replaced (BenchmarkFourier224),
// at float32 precision (TestFourierRoundTrip).
func (p *fourierParam) dftMatrices() {
	h, w, fh, fw, wh := p.h, p.w, p.fh, p.fw, p.wh
	m := dftCache(h, w, fh, fw)
	p.ec, p.es, p.d = m.ec, m.es, m.d
	planes := p.n * p.c
	ld := planes * 2 * wh
	p.ab = make([]float32, fh*ld)
	p.r = make([]float32, 2*h*ld)
	p.u = make([]float32, planes*h*2*wh)
}

// dftMats are the constant matrices of dftMatrices for one image and grid
// size, shared read-only by every parameterization of that size.
type dftMats struct{ ec, es, d []float32 }

var dftMemo sync.Map // [4]int{h, w, fh, fw} -> *dftMats

// dftCache returns the matrices for an h x w image on an fh x fw grid,
// computing them on first use (about 10^5 sines and cosines).
func dftCache(h, w, fh, fw int) *dftMats {
	key := [4]int{h, w, fh, fw}
	if m, ok := dftMemo.Load(key); ok {
		return m.(*dftMats)
	}
	half, wh := fh/2, fw/2+1
	m := &dftMats{ec: make([]float32, h*(half+1)), es: make([]float32, h*(half-1)), d: make([]float32, 2*wh*w)}
	for y := range h {
		for ky := 0; ky <= half; ky++ {
			sin, cos := math.Sincos(2 * math.Pi * float64(ky*y%fh) / float64(fh))
			m.ec[y*(half+1)+ky] = float32(cos)
			if ky > 0 && ky < half {
				m.es[y*(half-1)+ky-1] = float32(sin)
			}
		}
	}
	for kx := range wh {
		c := 2.0
		if kx == 0 || kx == fw/2 {
			c = 1
		}
		for x := range w {
			sin, cos := math.Sincos(2 * math.Pi * float64(kx*x%fw) / float64(fw))
			m.d[2*kx*w+x], m.d[(2*kx+1)*w+x] = float32(c*cos), float32(c*sin)
		}
	}
	v, _ := dftMemo.LoadOrStore(key, m)
	return v.(*dftMats)
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

// render computes z, the inverse 2-D real DFT of each scaled spectrum
// cropped to h x w (products on the BLAS, see dftMatrices), then mixes the
// colours and applies the sigmoid.
func (p *fourierParam) render(px []float32) {
	h, w, fh, wh := p.h, p.w, p.fh, p.wh
	half, planes, row := fh/2, p.n*p.c, 2*wh
	ld := planes * row
	// ab: rows 0..half the sums of the scaled rows ky and fh-ky (rows 0
	// and half alone), rows half+1.. their differences (ky = 1..half-1),
	// the planes side by side.
	parallelTasks(half+1, func(lo, hi int) {
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
	// r: rows y cos·sums = Re(E)·S, rows h+y sin·differences = Im(E)·S.
	model.Sgemm(false, false, h, ld, half+1, 1, p.ec, half+1, p.ab, ld, 0, p.r, ld)
	model.Sgemm(false, false, h, ld, half-1, 1, p.es, max(half-1, 1), p.ab[(half+1)*ld:], ld, 0, p.r[h*ld:], ld)
	// u = [Re T, -Im T] with T = E S.
	parallelTasks(h, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			c, s := p.r[y*ld:(y+1)*ld], p.r[(h+y)*ld:(h+y+1)*ld]
			for q := range planes {
				dst := p.u[(q*h+y)*row : (q*h+y+1)*row]
				cq, sq := c[q*row:(q+1)*row], s[q*row:(q+1)*row]
				for k := 0; k < row; k += 2 {
					dst[k], dst[k+1] = cq[k]-sq[k+1], -(cq[k+1] + sq[k])
				}
			}
		}
	})
	// z = Re(T D)/(fh·fw) = u·d/(fh·fw).
	model.Sgemm(false, false, planes*h, w, row, float32(1/float64(fh*p.fw)), p.u, row, p.d, w, 0, p.z, w)
	chw := p.c * h * w
	for i := range p.n {
		p.finish(p.z[i*chw:(i+1)*chw], px[i*chw:(i+1)*chw], p.sig[i*chw:(i+1)*chw])
	}
}

// finish mixes the colours of z (c planes) and applies the sigmoid.
func (p *fourierParam) finish(z, px, sig []float32) {
	hw := p.h * p.w
	if !p.decorrelate {
		parallelRange(p.c*hw, func(lo, hi int) {
			for j := lo; j < hi; j++ {
				s := fastSigmoid(float64(z[j]))
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
		for j, a32 := range z0 {
			a, b, c := float64(a32), float64(z1[j]), float64(z2[j])
			y0, y1, y2 := fastSigmoid3(m[0][0]*a+m[0][1]*b+m[0][2]*c, m[1][0]*a+m[1][1]*b+m[1][2]*c, m[2][0]*a+m[2][1]*b+m[2][2]*c)
			s0[j], s1[j], s2[j] = y0, y1, y2
			p0[j], p1[j], p2[j] = y0, y1, y2
		}
	})
}

// backprop applies the chain rule backwards through the sigmoid, the colour
// mixing, the crop and the inverse DFT z = Re(E S D)/(fh·fw) (see
// dftMatrices): with G = dJ/dz, M = Eᵀ G Dᵀ gives dJ/dRe S = Re M/(fh·fw)
// and dJ/dIm S = -Im M/(fh·fw), times scale for the variables.
func (p *fourierParam) backprop(gpx, gv []float32) {
	h, w, fh, wh := p.h, p.w, p.fh, p.wh
	hw, chw := h*w, p.c*h*w
	half, planes, row := fh/2, p.n*p.c, 2*wh
	ld := planes * row
	gz := p.z // dJ/dz, over render's z
	for i := range p.n {
		sig := p.sig[i*chw : (i+1)*chw]
		g, z := gpx[i*chw:(i+1)*chw], gz[i*chw:(i+1)*chw]
		if p.decorrelate {
			m := p.mix
			parallelRange(hw, func(lo, hi int) {
				z0, z1, z2 := z[lo:hi], z[hw+lo:hw+hi], z[2*hw+lo:2*hw+hi]
				s0, s1, s2 := sig[lo:hi], sig[hw+lo:hw+hi], sig[2*hw+lo:2*hw+hi]
				g0, g1, g2 := g[lo:hi], g[hw+lo:hw+hi], g[2*hw+lo:2*hw+hi]
				for j := range z0 {
					a := float64(g0[j]) * float64(s0[j]) * (1 - float64(s0[j]))
					b := float64(g1[j]) * float64(s1[j]) * (1 - float64(s1[j]))
					c := float64(g2[j]) * float64(s2[j]) * (1 - float64(s2[j]))
					z0[j] = float32(m[0][0]*a + m[1][0]*b + m[2][0]*c)
					z1[j] = float32(m[0][1]*a + m[1][1]*b + m[2][1]*c)
					z2[j] = float32(m[0][2]*a + m[1][2]*b + m[2][2]*c)
				}
			})
		} else {
			parallelRange(chw, func(lo, hi int) {
				for j := lo; j < hi; j++ {
					s := sig[j]
					z[j] = g[j] * s * (1 - s)
				}
			})
		}
	}
	// u = G·dᵀ = [Re W, Im W] with W = G Dᵀ.
	model.Sgemm(false, true, planes*h, row, w, 1, gz, w, p.d, w, 0, p.u, row)
	// r: rows y hold [Re W, Im W], rows h+y [-Im W, Re W], so that
	// Re(E)ᵀ·(rows y) + Im(E)ᵀ·(rows h+y) = [Re M, Im M] with M = Eᵀ W.
	parallelTasks(h, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			c, s := p.r[y*ld:(y+1)*ld], p.r[(h+y)*ld:(h+y+1)*ld]
			for q := range planes {
				src := p.u[(q*h+y)*row : (q*h+y+1)*row]
				copy(c[q*row:(q+1)*row], src)
				sq := s[q*row : (q+1)*row]
				for k := 0; k < row; k += 2 {
					sq[k], sq[k+1] = -src[k+1], src[k]
				}
			}
		}
	})
	// ab: rows 0..half cosᵀ·(rows y of r), rows half+1.. sinᵀ·(rows h+y);
	// row ky of M is their sum, row fh-ky their difference.
	model.Sgemm(true, false, half+1, ld, h, 1, p.ec, half+1, p.r, ld, 0, p.ab, ld)
	model.Sgemm(true, false, half-1, ld, h, 1, p.es, max(half-1, 1), p.r[h*ld:], ld, 0, p.ab[(half+1)*ld:], ld)
	norm := float32(1 / float64(fh*p.fw))
	parallelTasks(half+1, func(lo, hi int) {
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
// inverse of render. The grid beyond the image is filled by mirroring it,
// which keeps the spectrum free of the jumps a constant border would add.
func (p *fourierParam) setPixels(i int, px []float32) {
	h, w, fh, fw := p.h, p.w, p.fh, p.fw
	hw := h * w
	z := make([]float64, p.c*hw)
	for j := range hw {
		var y [3]float64
		for ch := range p.c {
			q := math.Min(math.Max(float64(px[ch*hw+j]), 1e-4), 1-1e-4)
			y[ch] = math.Log(q / (1 - q))
		}
		for d := range p.c {
			if p.decorrelate {
				z[d*hw+j] = p.unmix[d][0]*y[0] + p.unmix[d][1]*y[1] + p.unmix[d][2]*y[2]
			} else {
				z[d*hw+j] = y[d]
			}
		}
	}
	for ch := range p.c {
		z, canvas := z[ch*hw:(ch+1)*hw], p.work[ch].canvas
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

// fastSigmoid3 is fastSigmoid of three values: one call whose three
// independent chains of arithmetic the processor can overlap.
func fastSigmoid3(a, b, c float64) (float32, float32, float32) {
	ta, tb, tc := clampExp(-a), clampExp(-b), clampExp(-c)
	na := float64(int64(ta*math.Log2E+128.5)) - 128
	nb := float64(int64(tb*math.Log2E+128.5)) - 128
	nc := float64(int64(tc*math.Log2E+128.5)) - 128
	ra, rb, rc := ta-na*math.Ln2, tb-nb*math.Ln2, tc-nc*math.Ln2
	ea, eb, ec := expPoly(ra), expPoly(rb), expPoly(rc)
	ea *= math.Float64frombits(uint64(int64(na)+1023) << 52)
	eb *= math.Float64frombits(uint64(int64(nb)+1023) << 52)
	ec *= math.Float64frombits(uint64(int64(nc)+1023) << 52)
	return float32(1 / (1 + ea)), float32(1 / (1 + eb)), float32(1 / (1 + ec))
}

// clampExp limits the exponent of fastSigmoid to [-80, 80] (NaN to -80).
func clampExp(t float64) float64 {
	if t > 80 {
		return 80
	} else if t < -80 || t != t {
		return -80
	}
	return t
}

// expPoly is e^r for |r| <= ln2/2: its Taylor polynomial of degree 7
// (relative error < 6e-9) in Estrin's form.
func expPoly(r float64) float64 {
	r2 := r * r
	return (1 + r) + r2*(1.0/2+r*(1.0/6)) + r2*r2*((1.0/24+r*(1.0/120))+r2*(1.0/720+r*(1.0/5040)))
}

// fastSigmoid returns 1/(1+e^-y) to float32 precision (within 2e-7 of it,
// relative, by TestFastSigmoid) without calling math.Exp: e^-y = 2^n e^r
// with |r| <= ln2/2, n found by truncating a shifted positive value (not
// math.Floor, a function call below GOAMD64=v2), and e^r by its Taylor
// polynomial of degree 7 (relative error < 6e-9) in Estrin's form, whose
// short dependency chains let the processor overlap neighbouring calls.
// Beyond |y| = 80 it returns 1 or about e^-80.
func fastSigmoid(y float64) float32 {
	t := clampExp(-y)
	n := float64(int64(t*math.Log2E+128.5)) - 128 // round(t·log2 e), t·log2 e > -116
	e := expPoly(t-n*math.Ln2) * math.Float64frombits(uint64(int64(n)+1023)<<52)
	return float32(1 / (1 + e))
}
