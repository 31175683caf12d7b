package vis

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestWarpAdjoint checks <T x, y> = <x, Tᵀ y> for random warps, with fill 0.
func TestWarpAdjoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tf := range []Transforms{
		{Jitter: 3},
		{Jitter: 2, ScaleMin: 0.8, ScaleMax: 1.2, Rotate: 15},
		{Jitter: 4, Wrap: true},
	} {
		for range 5 {
			h, w := 7, 9
			wp := tf.draw(rng, h, w)
			x := make([]float32, h*w)
			y := make([]float32, h*w)
			for i := range x {
				x[i], y[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
			}
			tx := make([]float32, h*w)
			wp.apply(tx, x, 0, 0, h)
			ty := make([]float32, h*w)
			wp.adjoint(ty, y)
			if a, b := dot32(tx, y), dot32(x, ty); math.Abs(a-b) > 1e-4*(1+math.Abs(a)) {
				t.Fatalf("%+v: <Tx, y> = %g, <x, Tᵀy> = %g", tf, a, b)
			}
		}
	}
}

// TestWarpGeometry checks hand-computable warps.
func TestWarpGeometry(t *testing.T) {
	h, w := 3, 4
	src := make([]float32, h*w)
	for i := range src {
		src[i] = float32(i)
	}
	dst := make([]float32, h*w)
	// A shift by (1, 2): out(y, x) = in(y-1, x-2), fill -1 outside.
	newWarp(h, w, 1, 2, 1, 0, false).apply(dst, src, -1, 0, h)
	want := []float32{-1, -1, -1, -1, -1, -1, 0, 1, -1, -1, 4, 5}
	for i := range want {
		if dst[i] != want[i] {
			t.Fatalf("shift: got %v, want %v", dst, want)
		}
	}
	// The same shift wrapping around (DeepDream's roll).
	newWarp(h, w, 1, 2, 1, 0, true).apply(dst, src, -1, 0, h)
	want = []float32{10, 11, 8, 9, 2, 3, 0, 1, 6, 7, 4, 5}
	for i := range want {
		if dst[i] != want[i] {
			t.Fatalf("roll: got %v, want %v", dst, want)
		}
	}
	// A half turn about the centre reverses the image.
	newWarp(h, w, 0, 0, 1, math.Pi, false).apply(dst, src, -1, 0, h)
	for i := range dst {
		if math.Abs(float64(dst[i]-src[h*w-1-i])) > 1e-5 {
			t.Fatalf("rotation by π: got %v", dst)
		}
	}
	// Zoom by 2 about the centre of a 1x5 row: out(x) = in(2 + (x-2)/2).
	row := []float32{0, 10, 20, 30, 40}
	out := make([]float32, 5)
	newWarp(1, 5, 0, 0, 2, 0, false).apply(out, row, -1, 0, 1)
	wantRow := []float32{10, 15, 20, 25, 30}
	for i := range wantRow {
		if math.Abs(float64(out[i]-wantRow[i])) > 1e-5 {
			t.Fatalf("zoom: got %v, want %v", out, wantRow)
		}
	}
	if (Transforms{}).active() || (Transforms{ScaleMin: 1, ScaleMax: 1}).active() || !(Transforms{Rotate: 1}).active() {
		t.Error("active() is wrong")
	}
}

// BenchmarkWarp224 draws a Lucid-style transform of a 224 x 224 RGB image
// and applies it and its adjoint: the transforms' cost per step.
func BenchmarkWarp224(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	tf := Transforms{Jitter: 16, ScaleMin: 0.85, ScaleMax: 1, Rotate: 10}
	x := make([]float32, 224*224)
	y := make([]float32, 224*224)
	var wp *warp
	for b.Loop() {
		wp = tf.draw(rng, 224, 224)
		for range 3 {
			wp.apply(y, x, 0.5, 0, 224)
			wp.adjoint(x, y)
		}
	}
}

// TestWarpPlanes: applying a warp to all planes at once gives each plane
// what apply gives it alone, including the per-plane fill outside the
// image.
func TestWarpPlanes(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const c, h, w = 3, 8, 11
	wp := Transforms{Jitter: 3, ScaleMin: 0.7, ScaleMax: 1.3, Rotate: 30}.draw(rng, h, w)
	x := make([]float32, c*h*w)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	fill := []float32{-1, 0.25, 3}
	gain, bias := []float32{2, -0.5, 1}, []float32{0.5, 0, -1}
	got := make([]float32, c*h*w)
	wp.applyPlanes(got, x, c, fill, gain, bias, 0, h/2)
	wp.applyPlanes(got, x, c, fill, gain, bias, h/2, h)
	outside := false
	for ch := range c {
		want := make([]float32, h*w)
		wp.apply(want, x[ch*h*w:(ch+1)*h*w], fill[ch], 0, h)
		for j := range h * w {
			if d := got[ch*h*w+j] - (gain[ch]*want[j] + bias[ch]); d > 1e-5 || d < -1e-5 {
				t.Fatalf("plane %d pixel %d: applyPlanes %g, %g·apply + %g = %g", ch, j, got[ch*h*w+j], gain[ch], bias[ch], gain[ch]*want[j]+bias[ch])
			}
		}
	}
	for j := range h * w {
		idx, _ := wp.taps(j/w, j%w)
		outside = outside || slices.Contains(idx[:], -1)
	}
	if !outside {
		t.Fatal("the warp reads no point outside the image: the fill is untested")
	}
	// The adjoint of all planes at once equals each plane's own times its
	// gain: here two halves of the rows run concurrently (the bands'
	// taps meet), and on a Lucid transform of 224 x 224 planes four bands
	// two at a time, whose taps keep apart.
	if wp.apart(0, h/4, h/2, 3*h/4) {
		t.Fatal("the bands of an 8-row plane turned by up to 30° keep apart")
	}
	checkAdjointPlanes(t, wp, x, c, h, w, gain)
	lucid, _ := Preset("lucid")
	const lh, lw = 224, 224
	for range 5 {
		lp := lucid.Transforms.draw(rng, lh, lw)
		if !lp.apart(0, lh/4, lh/2, 3*lh/4) || !lp.apart(lh/4, lh/2, 3*lh/4, lh) {
			t.Fatalf("the bands of %+v meet", *lp)
		}
		lx := make([]float32, c*lh*lw)
		for i := range lx {
			lx[i] = float32(rng.NormFloat64())
		}
		checkAdjointPlanes(t, lp, lx, c, lh, lw, gain)
	}
}

// checkAdjointPlanes compares adjointPlanes of the c planes of x with each
// plane's adjoint times its gain.
func checkAdjointPlanes(t *testing.T, wp *warp, x []float32, c, h, w int, gain []float32) {
	t.Helper()
	got := make([]float32, c*h*w)
	for i := range got {
		got[i] = float32(i) // adjointPlanes sets dst, whatever it held
	}
	wp.adjointPlanes(got, x, c, gain, make([]float32, c*h*w))
	for ch := range c {
		want := make([]float32, h*w)
		wp.adjoint(want, x[ch*h*w:(ch+1)*h*w])
		for j := range h * w {
			if d := got[ch*h*w+j] - gain[ch]*want[j]; d > 1e-5 || d < -1e-5 {
				t.Fatalf("%dx%d plane %d pixel %d: adjointPlanes %g, %g·adjoint %g", h, w, ch, j, got[ch*h*w+j], gain[ch], gain[ch]*want[j])
			}
		}
	}
}

// TestWarpTaps: applyPlanes (whose pixels inside the plane skip taps)
// gives, bit for bit, the sum over each pixel's taps that taps returns (the fill
// value where none is inside), on several sizes, transforms and channel
// counts.
func TestWarpTaps(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	lucid, _ := Preset("lucid")
	for _, tc := range []struct {
		tf      Transforms
		c, h, w int
	}{
		{lucid.Transforms, 3, 224, 224},
		{Transforms{Jitter: 5, ScaleMin: 0.5, ScaleMax: 1.5, Rotate: 60}, 3, 37, 53},
		{Transforms{Jitter: 9, Wrap: true}, 1, 24, 40},
		{Transforms{ScaleMin: 0.9, ScaleMax: 1.1, Rotate: 180}, 2, 64, 19},
	} {
		for range 4 {
			wp := tc.tf.draw(rng, tc.h, tc.w)
			hw := tc.h * tc.w
			src := make([]float32, tc.c*hw)
			for i := range src {
				src[i] = float32(rng.NormFloat64())
			}
			fill, gain, bias := make([]float32, tc.c), make([]float32, tc.c), make([]float32, tc.c)
			for ch := range tc.c {
				fill[ch], gain[ch], bias[ch] = float32(ch)-0.5, 1.5+float32(ch), -0.25*float32(ch)
			}
			got := make([]float32, tc.c*hw)
			wp.applyPlanes(got, src, tc.c, fill, gain, bias, 0, tc.h)
			for j := range hw {
				idx, wt := wp.taps(j/tc.w, j%tc.w)
				for ch := range tc.c {
					s := float32(0)
					for k, i := range idx {
						if i >= 0 {
							s += wt[k] * src[ch*hw+int(i)]
						} else {
							s += wt[k] * fill[ch]
						}
					}
					if idx == [4]int32{-1, -1, -1, -1} {
						s = fill[ch] // no taps inside: the fill itself
					}
					if want := gain[ch]*s + bias[ch]; got[ch*hw+j] != want {
						t.Fatalf("%+v %dx%d: pixel %d plane %d = %g, want %g", tc.tf, tc.h, tc.w, j, ch, got[ch*hw+j], want)
					}
				}
			}
		}
	}
}
