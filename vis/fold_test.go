package vis

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFoldPair checks unfoldPair (with its AVX2 kernel for all but the
// last few columns) against its formula, and foldPair as its adjoint:
// <unfoldPair(a), g> = <a, foldPair(g)>, on even and odd widths.
func TestFoldPair(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, w := range []int{224, 225, 37, 18, 5} {
		xc, xs := cosRows(w), sinRows(w)
		vec := func(n int) []float32 {
			v := make([]float32, n)
			for i := range v {
				v[i] = float32(rng.NormFloat64())
			}
			return v
		}
		a1, a2, b1, b2 := vec(xc), vec(xs), vec(xc), vec(xs)
		zm, zp := make([]float32, w), make([]float32, w)
		unfoldPair(zm, zp, a1, a2, b1, b2)
		for x := range w {
			k, sign := x, float32(1) // column x reads cosine k and sine k
			if x > w/2 {
				k, sign = w-x, -1
			}
			cm, cp := a1[k]-b1[k], a1[k]+b1[k]
			if k >= 1 && k <= xs {
				cm += sign * (a2[k-1] - b2[k-1])
				cp += sign * (a2[k-1] + b2[k-1])
			}
			if zm[x] != cm || zp[x] != cp {
				t.Fatalf("w %d column %d: unfoldPair gives %g, %g, want %g, %g", w, x, zm[x], zp[x], cm, cp)
			}
		}
		gm, gp := vec(w), vec(w)
		f1, f2, g1, g2 := make([]float32, xc), make([]float32, xs), make([]float32, xc), make([]float32, xs)
		foldPair(f1, f2, g1, g2, gm, gp)
		lhs := dot32(zm, gm) + dot32(zp, gp)
		rhs := dot32(a1, f1) + dot32(a2, f2) + dot32(b1, g1) + dot32(b2, g2)
		if math.Abs(lhs-rhs) > 1e-4*(1+math.Abs(lhs)) {
			t.Fatalf("w %d: <unfoldPair(a), g> = %g, <a, foldPair(g)> = %g", w, lhs, rhs)
		}
	}
}
