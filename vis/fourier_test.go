package vis

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFourierRoundTrip sets the spectrum from an image and renders it back,
// for even and odd sizes, with and without colour decorrelation.
func TestFourierRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		c, h, w          int
		decorrelate, bgr bool
	}{{3, 8, 8, true, false}, {3, 7, 10, true, true}, {3, 6, 9, false, false}, {1, 5, 5, true, false}, {3, 224, 224, true, false}} {
		p := newFourierParam(2, tc.c, tc.h, tc.w, 1, tc.decorrelate, tc.bgr)
		n := tc.c * tc.h * tc.w
		want := make([]float32, 2*n)
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range want {
			want[i] = float32(0.02 + 0.96*rng.Float64())
		}
		p.setPixels(0, want[:n])
		p.setPixels(1, want[n:])
		got := make([]float32, 2*n)
		p.render(got)
		for i := range got {
			if math.Abs(float64(got[i]-want[i])) > 2e-5 {
				t.Fatalf("%+v: pixel %d renders as %g, want %g", tc, i, got[i], want[i])
			}
		}
	}
}

// TestFourierZeroSpectrum: a zero spectrum is a grey image, and a DC term
// alone is a flat image.
func TestFourierZeroSpectrum(t *testing.T) {
	p := newFourierParam(1, 3, 4, 6, 1, true, false)
	px := make([]float32, 3*4*6)
	p.render(px)
	for i, v := range px {
		if v != 0.5 {
			t.Fatalf("pixel %d of the zero spectrum is %g, want 0.5", i, v)
		}
	}
	p.v[0] = 1 // the real part of channel 0's DC term
	p.render(px)
	for ch := range 3 {
		for j := 1; j < 24; j++ {
			if px[ch*24+j] != px[ch*24] {
				t.Fatalf("DC term alone: channel %d is not flat: %v", ch, px[ch*24:(ch+1)*24])
			}
		}
	}
	if px[0] == 0.5 {
		t.Fatal("DC term has no effect")
	}
}

// TestFourierBackprop checks the parameterization's chain rule against
// finite differences of J = Σ w·pixels.
func TestFourierBackprop(t *testing.T) {
	for _, tc := range []struct{ c, h, w int }{{3, 6, 8}, {3, 5, 7}, {1, 4, 5}, {3, 8, 6}, {2, 12, 7}} {
		p := newFourierParam(2, tc.c, tc.h, tc.w, 1, true, true)
		rng := rand.New(rand.NewPCG(3, 4))
		for i := range p.v {
			p.v[i] = float32(rng.NormFloat64() * 0.3)
		}
		n := 2 * tc.c * tc.h * tc.w
		w := make([]float32, n)
		for i := range w {
			w[i] = float32(rng.NormFloat64())
		}
		px := make([]float32, n)
		j := func() float64 {
			p.render(px)
			return dot32(px, w)
		}
		j()
		g := make([]float32, len(p.v))
		p.backprop(w, g)
		peak := 0.0
		for _, x := range g {
			peak = math.Max(peak, math.Abs(float64(x)))
		}
		const eps = 1e-3
		for k := range p.v {
			old := p.v[k]
			p.v[k] = old + eps
			up := j()
			p.v[k] = old - eps
			down := j()
			p.v[k] = old
			fd := (up - down) / (2 * eps)
			if math.Abs(fd-float64(g[k])) > 1e-3*peak+1e-5 {
				t.Fatalf("%+v: d/dv[%d] = %g, finite difference %g", tc, k, g[k], fd)
			}
		}
	}
}

// TestFourierScaling checks the 1/f scaling: the variables of higher
// frequencies move the image less.
func TestFourierScaling(t *testing.T) {
	p := newFourierParam(1, 1, 16, 16, 1, false, false)
	wh := p.wh
	if !(p.scale[1] > p.scale[2] && p.scale[2] > p.scale[3] && p.scale[2*wh+2] < p.scale[1*wh+1]) {
		t.Errorf("scale does not fall with frequency: %v", p.scale[:4])
	}
	// DC and the first harmonic share the floor 1/max(h, w).
	if p.scale[0] != p.scale[1] {
		t.Errorf("scale[0] = %g, scale[1] = %g; both should use the floor frequency", p.scale[0], p.scale[1])
	}
	// fy of row 15 of 16 is -1/16: the same as row 1.
	if p.scale[15*wh] != p.scale[1*wh] {
		t.Errorf("negative frequencies scale differently: %g vs %g", p.scale[15*wh], p.scale[wh])
	}
}

// TestInvert3 checks the 3x3 inverse on the decorrelation matrix.
func TestInvert3(t *testing.T) {
	m := decorrelation(false)
	inv := invert3(m)
	for i := range 3 {
		for j := range 3 {
			s := 0.0
			for k := range 3 {
				s += m[i][k] * inv[k][j]
			}
			want := 0.0
			if i == j {
				want = 1
			}
			if math.Abs(s-want) > 1e-12 {
				t.Fatalf("M M⁻¹[%d][%d] = %g", i, j, s)
			}
		}
	}
	// The largest column norm is 1 after normalization.
	mx := 0.0
	for d := range 3 {
		mx = math.Max(mx, math.Sqrt(m[0][d]*m[0][d]+m[1][d]*m[1][d]+m[2][d]*m[2][d]))
	}
	if math.Abs(mx-1) > 1e-12 {
		t.Errorf("largest column norm %g, want 1", mx)
	}
}

// BenchmarkFourier224 renders and backpropagates one 224 x 224 RGB image
// (a 224 x 113 half-spectrum): the parameterization's cost per step.
func BenchmarkFourier224(b *testing.B) {
	p := newFourierParam(1, 3, 224, 224, 1, true, false)
	px := make([]float32, 3*224*224)
	gv := make([]float32, len(p.v))
	for b.Loop() {
		p.render(px)
		p.backprop(px, gv)
	}
}

// TestFourierVariablesArePlaneWaves: each variable is a real or imaginary
// part of one spectrum coefficient S[ky][kx], as in Lucid, so alone it
// renders one plane wave scale·c_kx·cos(2π(ky·y/h + kx·x/w) + φ)/(h·w)
// (before the sigmoid), including ky above h/2 (negative frequencies) --
// not a standing wave, which a basis of sums of S[ky] and S[h-ky] would
// give and Adam turns into streaks along the axes.
func TestFourierVariablesArePlaneWaves(t *testing.T) {
	const h, w = 8, 12
	p := newFourierParam(1, 1, h, w, 1, false, false)
	wh, row := p.wh, 2*p.wh
	px := make([]float32, h*w)
	for _, tc := range []struct {
		ky, kx int
		im     bool
	}{{1, 1, false}, {1, 2, true}, {h - 1, 1, false}, {h - 3, 4, true}, {2, 0, false}, {0, 3, true}, {h / 2, 2, false}} {
		clear(p.v)
		j := tc.ky // the row of S[ky]: ky <= h/2 on row ky, h-ky on row h/2+ky
		if tc.ky > h/2 {
			j = h/2 + (h - tc.ky)
		}
		k := p.posOf(tc.kx)
		if tc.im {
			k += wh
		}
		p.v[j*row+k] = 1
		p.render(px)
		sc := p.scale[tc.ky*wh+tc.kx] * columnWeight(tc.kx, w) / float64(h*w)
		for y := range h {
			for x := range w {
				a := 2 * math.Pi * (float64(tc.ky*y)/h + float64(tc.kx*x)/w)
				want := sc * math.Cos(a) // Re(S e^{ia}) for S = 1
				if tc.im {
					want = -sc * math.Sin(a) // for S = i
				}
				if got := float64(p.z[y*w+x]); math.Abs(got-want) > 1e-5*(1+sc) {
					t.Fatalf("S[%d][%d] (imaginary %v) at (%d, %d): z = %g, want %g", tc.ky, tc.kx, tc.im, y, x, got, want)
				}
			}
		}
	}
}
