package vis

import (
	"math"
	"unsafe"
)

// The logistic sigmoid 1/(1+e^-y) of the Fourier parameterization, about
// 150,000 of them per 224 x 224 render. On amd64 processors with AVX2 and
// FMA, sigmoidPlane and sigmoidMix3 run the assembly kernels of
// kernels_amd64.s, eight values at a time (about 10x the scalar code's
// speed, BenchmarkSigmoid), on every value, so that a value's sigmoid does
// not depend on how the work was split; elsewhere the scalar fastSigmoid.

// sigmoidPlane sets dst[j] to the sigmoid of src[j].
func sigmoidPlane(dst, src []float32) {
	dst = dst[:len(src)]
	if !useAVX {
		for j, v := range src {
			dst[j] = fastSigmoid(float64(v))
		}
		return
	}
	n := len(src) &^ 7
	if n > 0 {
		sigmoidAVX(&dst[0], &src[0], n)
	}
	if rest := len(src) - n; rest > 0 {
		// The last few values through the kernel too, padded to eight:
		// a value's sigmoid does not depend on where it lies.
		var in, out [8]float32
		copy(in[:], src[n:])
		sigmoidAVX(&out[0], &in[0], 8)
		copy(dst[n:], out[:rest])
	}
}

// sigmoidMix3 sets pixels [lo, hi) of the three planes of plane values in
// dst to the sigmoid of the colours of src mixed by m: dst[c] = sigmoid(
// m[c][0]·src[0] + m[c][1]·src[1] + m[c][2]·src[2]).
func sigmoidMix3(dst, src []float32, plane, lo, hi int, m *[3][3]float32) {
	if hi <= lo {
		return
	}
	dst, src = dst[:3*plane], src[:3*plane]
	_ = dst[2*plane+hi-1] // the kernel's last write lies inside
	if !useAVX {
		for j := lo; j < hi; j++ {
			a, b, c := src[j], src[plane+j], src[2*plane+j]
			dst[j], dst[plane+j], dst[2*plane+j] = fastSigmoid3(
				float64(m[0][0]*a+m[0][1]*b+m[0][2]*c), float64(m[1][0]*a+m[1][1]*b+m[1][2]*c), float64(m[2][0]*a+m[2][1]*b+m[2][2]*c))
		}
		return
	}
	mm := (*[9]float32)(unsafe.Pointer(m))
	n := (hi - lo) &^ 7
	if n > 0 {
		sigmoidMixAVX(&dst[lo], &src[lo], plane, n, mm)
	}
	if rest := hi - lo - n; rest > 0 {
		// The last few pixels through the kernel too, padded to eight.
		var in, out [24]float32
		j := lo + n
		for c := range 3 {
			copy(in[8*c:8*c+rest], src[c*plane+j:c*plane+hi])
		}
		sigmoidMixAVX(&out[0], &in[0], 8, 8, mm)
		for c := range 3 {
			copy(dst[c*plane+j:c*plane+hi], out[8*c:8*c+rest])
		}
	}
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

// sigmoidGradMix3 sets pixels [lo, hi) of the three planes (spaced plane
// values apart) of dst to the gradient back through sigmoidMix3 with the
// transposed matrix mt: with a[d] = grad[d]·sig[d]·(1 - sig[d]) (sig the
// sigmoid's outputs), dst[c] = Σ_d mt[c][d]·a[d].
func sigmoidGradMix3(dst, grad, sig []float32, plane, lo, hi int, mt *[3][3]float32) {
	if hi <= lo {
		return
	}
	dst, grad, sig = dst[:3*plane], grad[:3*plane], sig[:3*plane]
	j := lo
	if useAVX {
		if n := (hi - lo) &^ 7; n > 0 {
			_ = dst[2*plane+lo+n-1] // the kernel's last write lies inside
			sigmoidGradMixAVX(&dst[lo], &grad[lo], &sig[lo], plane, n, (*[9]float32)(unsafe.Pointer(mt)))
			j += n
		}
	}
	d0, d1, d2 := dst[:plane], dst[plane:2*plane], dst[2*plane:]
	g0, g1, g2 := grad[:plane], grad[plane:2*plane], grad[2*plane:]
	s0, s1, s2 := sig[:plane], sig[plane:2*plane], sig[2*plane:]
	for ; j < hi; j++ {
		a := g0[j] * s0[j] * (1 - s0[j])
		b := g1[j] * s1[j] * (1 - s1[j])
		c := g2[j] * s2[j] * (1 - s2[j])
		d0[j] = mt[0][0]*a + mt[0][1]*b + mt[0][2]*c
		d1[j] = mt[1][0]*a + mt[1][1]*b + mt[1][2]*c
		d2[j] = mt[2][0]*a + mt[2][1]*b + mt[2][2]*c
	}
}
