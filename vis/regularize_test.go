package vis

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRegularizerOperators checks Yosinski et al.'s operators on a 1x2x2
// image.
func TestRegularizerOperators(t *testing.T) {
	// Decay halves the distance to grey.
	v := []float32{1, 0, 0.5, 0.7}
	Regularizer{Decay: 0.5}.apply(1, v, nil, 1, 1, 2, 2)
	for i, want := range []float32{0.75, 0.25, 0.5, 0.6} {
		if math.Abs(float64(v[i]-want)) > 1e-6 {
			t.Fatalf("decay: %v", v)
		}
	}
	// Norm clipping at the 50th percentile greys the two pixels closest
	// to grey (norms over the two channels).
	v = []float32{
		0.9, 0.5, 0.6, 0.2, // channel 0
		0.5, 0.5, 0.6, 0.5, // channel 1
	}
	Regularizer{NormPct: 50}.apply(1, v, nil, 1, 2, 2, 2)
	want := []float32{0.9, 0.5, 0.5, 0.2, 0.5, 0.5, 0.5, 0.5}
	for i := range want {
		if math.Abs(float64(v[i]-want[i])) > 1e-6 {
			t.Fatalf("norm clipping: %v, want %v", v, want)
		}
	}
	// Contribution clipping keeps the pixels whose (p - ½)·g is large in
	// either direction.
	v = []float32{0.9, 0.1, 0.6, 0.7}
	g := []float32{1, 1, 10, 0.1} // contributions 0.4, -0.4, 1, 0.02
	Regularizer{ContribPct: 30}.apply(1, v, g, 1, 1, 2, 2)
	if want := []float32{0.9, 0.1, 0.6, 0.5}; !equal32(v, want) {
		t.Fatalf("contribution clipping: %v, want %v", v, want)
	}
	// Blur only every other step, and it keeps a flat image flat while
	// smoothing a spike.
	v = []float32{0.5, 0.5, 0.5, 0.5, 1, 0.5, 0.5, 0.5, 0.5}
	r := Regularizer{BlurEvery: 2, BlurSigma: 1}
	r.apply(1, v, nil, 1, 1, 3, 3)
	if v[4] != 1 {
		t.Fatal("blurred on step 1 with BlurEvery 2")
	}
	r.apply(2, v, nil, 1, 1, 3, 3)
	if !(v[4] < 0.9 && v[0] > 0.5) {
		t.Fatalf("blur: %v", v)
	}
	if (Regularizer{}).active() || !(Regularizer{ContribPct: 1}).active() {
		t.Error("active() is wrong")
	}
}

func TestPercentile(t *testing.T) {
	v := []float64{4, 1, 3, 2}
	for _, tc := range []struct{ pct, want float64 }{{0, 1}, {100, 4}, {50, 2.5}, {25, 1.75}} {
		if got := percentile(v, tc.pct); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("percentile(%v, %g) = %g, want %g", v, tc.pct, got, tc.want)
		}
	}
}

// TestPercentileSelect: percentile by quickselect equals the sorted
// order statistics' interpolation exactly, on random values with many
// ties, lengths from 1, every percentile from 0 to 100, NaN and infinities.
func TestPercentileSelect(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for trial := range 300 {
		n := 1 + trial%37
		if trial%10 == 0 {
			n = 50176 / (1 + trial%7)
		}
		v := make([]float64, n)
		for i := range v {
			switch rng.IntN(10) {
			case 0:
				v[i] = math.NaN()
			case 1:
				v[i] = math.Inf(1 - 2*rng.IntN(2))
			case 2, 3, 4:
				v[i] = float64(rng.IntN(4)) // ties
			default:
				v[i] = rng.NormFloat64()
			}
		}
		pct := 100 * rng.Float64()
		if trial%5 == 0 {
			pct = float64(25 * rng.IntN(5))
		}
		s := slices.Clone(v)
		for i, x := range s {
			if math.IsNaN(x) {
				s[i] = math.Inf(1)
			}
		}
		slices.Sort(s)
		pos := pct / 100 * float64(n-1)
		i := int(pos)
		want := s[i]
		if i+1 < n {
			want = s[i] + (pos-float64(i))*(s[i+1]-s[i])
		}
		got := percentile(v, pct)
		if got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("n %d, pct %g: percentile %g, sorted %g", n, pct, got, want)
		}
	}
}

func TestPresets(t *testing.T) {
	for _, name := range Presets() {
		r, err := Preset(name)
		if err != nil || r.Steps <= 0 || r.LR <= 0 {
			t.Errorf("preset %s: %+v, %v", name, r, err)
		}
		if r.Param == ParamFourier && r.Regularizer.active() {
			t.Errorf("preset %s: Yosinski's operators on a Fourier parameterization", name)
		}
	}
	if _, err := Preset("nope"); err == nil {
		t.Error("unknown preset accepted")
	}
}

func equal32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-6 {
			return false
		}
	}
	return true
}
