package vis

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestFastSigmoid: fastSigmoid agrees with 1/(1+e^-y) to float32
// precision over the range that matters, and saturates beyond it.
func TestFastSigmoid(t *testing.T) {
	for i := -200000; i <= 200000; i++ {
		y := float64(i) * 1e-4 * 1.37
		want := 1 / (1 + math.Exp(-y))
		got := float64(fastSigmoid(y))
		if d := math.Abs(got - want); d > 2e-7*math.Max(want, 1e-3) && d > 1e-12 {
			t.Fatalf("fastSigmoid(%g) = %g, want %g", y, got, want)
		}
		if a, b, c := fastSigmoid3(y, -y, 3*y); a != fastSigmoid(y) || b != fastSigmoid(-y) || c != fastSigmoid(3*y) {
			t.Fatalf("fastSigmoid3(%g, %g, %g) = %g, %g, %g; fastSigmoid gives %g, %g, %g", y, -y, 3*y, a, b, c, fastSigmoid(y), fastSigmoid(-y), fastSigmoid(3*y))
		}
	}
	for _, c := range []struct{ y, lo, hi float64 }{{0, 0.5, 0.5}, {1000, 1, 1}, {-1000, 0, 1e-30}, {math.Inf(1), 1, 1}, {math.Inf(-1), 0, 1e-30}} {
		if got := float64(fastSigmoid(c.y)); !(got >= c.lo && got <= c.hi) {
			t.Errorf("fastSigmoid(%g) = %g, want in [%g, %g]", c.y, got, c.lo, c.hi)
		}
	}
}

// sigmoidInputs are float32 inputs for the sigmoid kernels: a dense sweep
// of [-30, 30], random values, and the edges (zeros, huge values, the
// infinities and NaN).
func sigmoidInputs(n int) []float32 {
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, n)
	for i := range x {
		switch i % 3 {
		case 0:
			x[i] = float32(-30 + 60*float64(i)/float64(n))
		case 1:
			x[i] = float32(rng.NormFloat64() * 8)
		default:
			x[i] = float32(rng.NormFloat64())
		}
	}
	edges := []float32{0, float32(math.Copysign(0, -1)), 80, -80, 87, -87, 100, -100, 1e30, -1e30,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	copy(x[n/2:], edges)
	return x
}

// sigmoidNear reports whether got is the sigmoid of y within float32
// precision: relative error 4e-7, plus y's own rounding of 1.2e-7·|y|
// when y itself was computed in float32 (mixed), and 1 for NaN.
func sigmoidNear(got float32, y float64, mixed bool) bool {
	if math.IsNaN(y) {
		return got == 1
	}
	want := 1 / (1 + math.Exp(-y))
	tol := 4e-7
	if mixed {
		tol += 1.2e-7 * math.Abs(y) * 4
	}
	return math.Abs(float64(got)-want) <= tol*math.Max(want, 1e-30) || (y < -80 && got > 0 && got < 1e-30)
}

// TestSigmoidKernels: sigmoidPlane and sigmoidMix3 (the AVX2 kernels where
// the processor has them, the scalar code for the tails and elsewhere)
// agree with 1/(1+e^-y) in float64, on lengths and offsets that are not
// multiples of 8, and leave the values outside [lo, hi) alone.
func TestSigmoidKernels(t *testing.T) {
	t.Logf("AVX2 kernels: %v", useAVX)
	const n = 4099
	x := sigmoidInputs(n)
	got := make([]float32, n)
	sigmoidPlane(got[:n-1], x[:n-1])
	for i := range n - 1 {
		if !sigmoidNear(got[i], float64(x[i]), false) {
			t.Fatalf("sigmoidPlane: value %d: sigmoid(%g) = %g, want %g", i, x[i], got[i], 1/(1+math.Exp(-float64(x[i]))))
		}
	}
	if got[n-1] != 0 {
		t.Fatalf("sigmoidPlane wrote past its end")
	}
	m := [3][3]float32{{0.5, 0.2, -0.1}, {0.3, 0, -0.4}, {0.1, -0.6, 0.2}}
	src := make([]float32, 3*n) // the inputs, then rotated by 7 and by 13 and scaled
	for j := range n {
		src[j], src[n+j], src[2*n+j] = x[j], -0.7*x[(j+7)%n], 1.3*x[(j+13)%n]
	}
	dst := make([]float32, 3*n)
	lo, hi := 5, n-2
	sigmoidMix3(dst, src, n, lo, hi, &m)
	for c := range 3 {
		for j := range n {
			v := dst[c*n+j]
			if j < lo || j >= hi {
				if v != 0 {
					t.Fatalf("sigmoidMix3 wrote pixel %d of plane %d outside [%d, %d)", j, c, lo, hi)
				}
				continue
			}
			y := float64(m[c][0])*float64(src[j]) + float64(m[c][1])*float64(src[n+j]) + float64(m[c][2])*float64(src[2*n+j])
			if math.IsInf(y, 0) || math.IsNaN(y) {
				continue // inf - inf: either saturation is right
			}
			if !sigmoidNear(v, y, true) {
				t.Fatalf("sigmoidMix3: pixel %d plane %d: sigmoid(%g) = %g, want %g", j, c, y, v, 1/(1+math.Exp(-y)))
			}
		}
	}
}

// BenchmarkSigmoid times sigmoidMix3 on the three 224 x 224 planes of a
// render against the scalar fastSigmoid3 loop it replaces where AVX2 is
// present; the speedup metric is their ratio in the same run.
func BenchmarkSigmoid(b *testing.B) {
	const hw = 224 * 224
	x := sigmoidInputs(3 * hw)
	for i := range x {
		x[i] = float32(math.Mod(float64(x[i]), 20))
	}
	dst := make([]float32, 3*hw)
	m := [3][3]float32{{0.5, 0.2, -0.1}, {0.3, 0, -0.4}, {0.1, -0.6, 0.2}}
	scalar := func() {
		for j := range hw {
			a, b, c := x[j], x[hw+j], x[2*hw+j]
			dst[j], dst[hw+j], dst[2*hw+j] = fastSigmoid3(
				float64(m[0][0]*a+m[0][1]*b+m[0][2]*c), float64(m[1][0]*a+m[1][1]*b+m[1][2]*c), float64(m[2][0]*a+m[2][1]*b+m[2][2]*c))
		}
	}
	var ts, tk time.Duration
	for b.Loop() {
		t0 := time.Now()
		scalar()
		t1 := time.Now()
		sigmoidMix3(dst, x, hw, 0, hw, &m)
		ts, tk = ts+t1.Sub(t0), tk+time.Since(t1)
	}
	b.ReportMetric(float64(ts)/float64(b.N)/1e6, "scalar-ms")
	b.ReportMetric(float64(tk)/float64(b.N)/1e6, "kernel-ms")
	b.ReportMetric(float64(ts)/float64(tk), "speedup")
}

// TestSigmoidGradMix: sigmoidGradMix3 (the AVX2 kernel for runs of eight
// pixels, the scalar loop for the rest) against the float64 chain rule,
// on ranges of odd lengths and starts, leaving the pixels outside the
// range alone.
func TestSigmoidGradMix(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const plane = 203
	m := decorrelation(false)
	var mt [3][3]float32
	for a := range 3 {
		for b := range 3 {
			mt[a][b] = float32(m[b][a])
		}
	}
	grad, sig := make([]float32, 3*plane), make([]float32, 3*plane)
	for i := range grad {
		grad[i], sig[i] = float32(rng.NormFloat64()), float32(rng.Float64())
	}
	for _, r := range [][2]int{{0, plane}, {5, 6}, {3, 30}, {17, 200}, {0, 7}, {9, 9}} {
		dst := make([]float32, 3*plane)
		for i := range dst {
			dst[i] = -7
		}
		sigmoidGradMix3(dst, grad, sig, plane, r[0], r[1], &mt)
		for c := range 3 {
			for j := range plane {
				got := dst[c*plane+j]
				if j < r[0] || j >= r[1] {
					if got != -7 {
						t.Fatalf("range %v: pixel %d of plane %d, outside, changed to %g", r, j, c, got)
					}
					continue
				}
				want := 0.0
				for d := range 3 {
					s := float64(sig[d*plane+j])
					want += m[d][c] * float64(grad[d*plane+j]) * s * (1 - s)
				}
				if math.Abs(float64(got)-want) > 1e-6*(1+math.Abs(want)) {
					t.Fatalf("range %v: pixel %d of plane %d = %g, want %g", r, j, c, got, want)
				}
			}
		}
	}
}
