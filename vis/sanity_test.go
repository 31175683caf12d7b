package vis

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/deepscope/deepscope/model"
)

func TestSpearman(t *testing.T) {
	for _, c := range []struct {
		a, b []float64
		want float64
	}{
		// Ranks 1 2.5 2.5 4 and 2 3.5 3.5 1, both averaging 2.5:
		// Σ da·db = 0.75 + 0 + 0 - 2.25 = -1.5, Σ da² = Σ db² = 4.5.
		{[]float64{1, 2, 2, 3}, []float64{10, 20, 20, 5}, -1.0 / 3},
		// Monotone transforms keep the ranks.
		{[]float64{0.1, 5, -3, 2}, []float64{1, 500, -30, 8}, 1},
		{[]float64{1, 2, 3}, []float64{3, 2, 1}, -1},
		// Ranks 1 2 3 4 5 and 1.5 1.5 3 4.5 4.5 (average 3):
		// Σ da·db = 3 + 1.5 + 0 + 1.5 + 3 = 9, Σ da² = 10, Σ db² = 9.
		{[]float64{1, 2, 3, 4, 5}, []float64{0, 0, 7, 9, 9}, 9 / math.Sqrt(90)},
	} {
		if got := Spearman(c.a, c.b); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Spearman(%v, %v) = %g, want %g", c.a, c.b, got, c.want)
		}
	}
	for _, c := range [][2][]float64{
		{{1, 1, 1}, {1, 2, 3}},          // constant
		{{1, 2}, {1, 2, 3}},             // lengths differ
		{{1}, {1}},                      // one value
		{{1, math.NaN(), 3}, {1, 2, 3}}, // NaN
	} {
		if got := Spearman(c[0], c[1]); !math.IsNaN(got) {
			t.Errorf("Spearman(%v, %v) = %g, want NaN", c[0], c[1], got)
		}
	}
}

// linearSaliency is the input gradient of logit c of a linear net,
// measured by forward differences on the basis vectors.
func linearSaliency(t *testing.T, m *model.Model, c, n int) []float64 {
	t.Helper()
	logit := func(x []float32) float64 {
		a, err := m.Run(model.FromData(x, 1, 1, 1, n))
		if err != nil {
			t.Fatal(err)
		}
		defer a.Release()
		v, err := a.Get(LogitLayer(m))
		if err != nil {
			t.Fatal(err)
		}
		return float64(v.Data[c])
	}
	base := logit(make([]float32, n))
	out := make([]float64, n)
	for i := range n {
		x := make([]float32, n)
		x[i] = 1
		out[i] = logit(x) - base
	}
	return out
}

// On the linear net fc1 -> fc2 the saliency is w2[c]·W1; the check's
// correlations must be those of the maps of the randomized models,
// measured independently by forward differences.
func TestModelRandomizationLinear(t *testing.T) {
	w1 := [][]float32{{1, -2, 3, 0.5, -1, 2}, {0.5, 1, -1, 2, 3, -0.5}, {-1, 0.25, 2, -3, 1, 1}}
	w2 := [][]float32{{1, 2, -1}, {-2, 0.5, 1}}
	m := gemmNet(t, w1, w2)
	x := model.FromData([]float32{0.3, -1, 2, 0.7, -0.2, 1.1}, 1, 1, 1, 6)
	r := classRequest(t, m, x, 1)
	if got := CascadeLayers(m, r.Target); !slices.Equal(got, []string{"fc2", "fc1"}) {
		t.Fatalf("CascadeLayers = %v, want [fc2 fc1]", got)
	}
	sal, _ := Lookup("saliency")
	gxi, _ := Lookup("gradxinput")
	gc, _ := Lookup("gradcam") // no spatial layer: left out
	const seed = 11
	var progress []int
	res, err := ModelRandomization(context.Background(), r, []Method{sal, gc, gxi},
		RandomizationOptions{Seed: seed, Progress: func(done, total int) { progress = append(progress, done, total) }})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Methods, []string{"saliency", "gradxinput"}) || !slices.Equal(res.Layers, []string{"fc2", "fc1"}) {
		t.Fatalf("methods %v, layers %v", res.Methods, res.Layers)
	}
	if len(progress) == 0 || progress[len(progress)-2] != progress[len(progress)-1] || progress[len(progress)-1] != 6 {
		t.Errorf("progress reports %v, want to end at 6 of 6", progress)
	}
	s0 := linearSaliency(t, m, 1, 6)
	for k, layers := range [][]string{{"fc2"}, {"fc2", "fc1"}} {
		rm, err := m.WithRandomWeights(layers, seed)
		if err != nil {
			t.Fatal(err)
		}
		s1 := linearSaliency(t, rm, 1, 6)
		abs0, abs1 := make([]float64, 6), make([]float64, 6)
		gx0, gx1 := make([]float64, 6), make([]float64, 6)
		for i := range 6 {
			abs0[i], abs1[i] = math.Abs(s0[i]), math.Abs(s1[i])
			gx0[i], gx1[i] = s0[i]*float64(x.Data[i]), s1[i]*float64(x.Data[i])
		}
		absGX := func(v []float64) []float64 {
			out := make([]float64, len(v))
			for i, e := range v {
				out[i] = math.Abs(e)
			}
			return out
		}
		want := [][2]float64{{Spearman(abs0, abs1), Spearman(s0, s1)}, {Spearman(absGX(gx0), absGX(gx1)), Spearman(gx0, gx1)}}
		for j := range res.Methods {
			if res.Errs[k][j] != nil {
				t.Fatalf("row %d %s: %v", k, res.Methods[j], res.Errs[k][j])
			}
			if math.Abs(res.Abs[k][j]-want[j][0]) > 1e-9 || math.Abs(res.Signed[k][j]-want[j][1]) > 1e-9 {
				t.Errorf("row %d %s: abs %g signed %g, want %g and %g", k, res.Methods[j], res.Abs[k][j], res.Signed[k][j], want[j][0], want[j][1])
			}
		}
	}
}

// Randomizing a layer above the target leaves its maps exactly as they
// were (ρ = 1), and CascadeLayers leaves it out.
func TestModelRandomizationAboveTarget(t *testing.T) {
	w1 := [][]float32{{1, -2, 3, 0.5}, {0.5, 1, -1, 2}}
	m := gemmNet(t, w1, [][]float32{{1, 2}, {-2, 0.5}})
	tg, err := UnitTarget(m, "fc1", 1, AtSum, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := CascadeLayers(m, tg); !slices.Equal(got, []string{"fc1"}) {
		t.Errorf("CascadeLayers for a fc1 unit = %v, want [fc1]", got)
	}
	r := &Request{Model: m, Input: model.FromData([]float32{1, 2, 3, 4}, 1, 1, 1, 4), Target: tg}
	sal, _ := Lookup("saliency")
	res, err := ModelRandomization(context.Background(), r, []Method{sal}, RandomizationOptions{Layers: []string{"fc2", "fc1"}, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Abs[0][0] != 1 || res.Signed[0][0] != 1 {
		t.Errorf("fc2 randomized: ρ = %g (abs), %g (signed), want 1", res.Abs[0][0], res.Signed[0][0])
	}
	if res.Signed[1][0] == 1 {
		t.Errorf("fc1 randomized: the saliency kept its ranks")
	}
}
