package model

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// randNet is x 1x2x4x4 -> Conv(3, 3x3, pad 1) "conv" -> BatchNormalization
// "bn" -> Relu "relu" -> Flatten "flat" -> Gemm(5, transB) "fc".
func randNet(t *testing.T) *Model {
	t.Helper()
	fill := func(n int, f func(i int) float32, shape ...int) *Tensor {
		d := make([]float32, n)
		for i := range d {
			d[i] = f(i)
		}
		return FromData(d, shape...)
	}
	b := NewGraphBuilder("randnet")
	x := b.Input("x", Float32, 1, 2, 4, 4)
	cw := b.Initializer("conv_w", fill(54, func(i int) float32 { return float32((i*7)%11-5) / 8 }, 3, 2, 3, 3))
	cb := b.Initializer("conv_b", fill(3, func(i int) float32 { return float32(i) / 4 }, 3))
	bs := b.Initializer("bn_scale", fill(3, func(i int) float32 { return 1 + float32(i)/10 }, 3))
	bb := b.Initializer("bn_b", fill(3, func(i int) float32 { return float32(i) - 1 }, 3))
	bm := b.Initializer("bn_mean", fill(3, func(i int) float32 { return float32(i) / 3 }, 3))
	bv := b.Initializer("bn_var", fill(3, func(i int) float32 { return 0.5 + float32(i) }, 3))
	fw := b.Initializer("fc_w", fill(240, func(i int) float32 { return float32((i*13)%17-8) / 16 }, 5, 48))
	fb := b.Initializer("fc_b", fill(5, func(i int) float32 { return float32(i) / 5 }, 5))
	c := b.Node("Conv", "conv", Attrs{"pads": []int{1, 1, 1, 1}}, x, cw, cb)
	n := b.Node("BatchNormalization", "bn", Attrs{"epsilon": float32(1e-5)}, c, bs, bb, bm, bv)
	r := b.Node("Relu", "relu", nil, n)
	f := b.Node("Flatten", "flat", nil, r)
	o := b.Node("Gemm", "fc", Attrs{"transB": 1}, f, fw, fb)
	b.Output(o, Float32, 1, 5)
	data, err := b.Graph().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func randInput() *Tensor {
	x := NewTensor(1, 2, 4, 4)
	for i := range x.Data {
		x.Data[i] = float32((i*5)%9-4) / 3
	}
	return x
}

// layerValues runs m on x and returns copies of the named layers.
func layerValues(t *testing.T, m *Model, x *Tensor, names ...string) map[string][]float32 {
	t.Helper()
	a, err := m.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	out := map[string][]float32{}
	for _, n := range names {
		v, err := a.Get(n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = slices.Clone(v.Data)
	}
	return out
}

func constOf(m *Model, name string) []float32 { return m.consts[m.index[name]].Data }

func TestParamLayers(t *testing.T) {
	m := randNet(t)
	var names []string
	for _, l := range m.ParamLayers() {
		names = append(names, l.Name)
	}
	if want := []string{"conv", "bn", "fc"}; !slices.Equal(names, want) {
		t.Errorf("ParamLayers = %v, want %v", names, want)
	}
}

// Randomizing fc changes fc's weights and output only, to values drawn
// with the original's spread, and leaves the original model alone.
func TestWithRandomWeightsTopLayer(t *testing.T) {
	m := randNet(t)
	x := randInput()
	layers := []string{"conv", "bn", "relu", "flat", "fc"}
	before := layerValues(t, m, x, layers...)
	origW := slices.Clone(constOf(m, "fc_w"))

	r, err := m.WithRandomWeights([]string{"fc"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	got := layerValues(t, r, x, layers...)
	for _, l := range layers[:4] {
		if !slices.Equal(got[l], before[l]) {
			t.Errorf("layer %s changed although only fc was randomized", l)
		}
	}
	w, bias := constOf(r, "fc_w"), constOf(r, "fc_b")
	if len(w) != 240 || len(bias) != 5 {
		t.Fatalf("randomized fc has %d weights and %d biases", len(w), len(bias))
	}
	// fc = flat · W'ᵀ + b' with the new parameters.
	for o := range 5 {
		want := float64(bias[o])
		for i := range 48 {
			want += float64(got["flat"][i]) * float64(w[o*48+i])
		}
		if d := math.Abs(float64(got["fc"][o]) - want); d > 1e-4 {
			t.Errorf("fc[%d] = %g, want %g from the new weights", o, got["fc"][o], want)
		}
	}
	if slices.Equal(got["fc"], before["fc"]) {
		t.Error("fc's output did not change")
	}
	// Spread: the new weights have the original's standard deviation.
	if s0, s1 := stdOf(origW), stdOf(w); math.Abs(s1/s0-1) > 0.15 {
		t.Errorf("randomized weights have std %g, the original %g", s1, s0)
	}
	same := 0
	for i := range w {
		if w[i] == origW[i] {
			same++
		}
	}
	if same > 0 {
		t.Errorf("%d of 240 weights kept their value", same)
	}
	// The original is untouched.
	if !slices.Equal(constOf(m, "fc_w"), origW) {
		t.Error("the original model's weights changed")
	}
	if again := layerValues(t, m, x, "fc"); !slices.Equal(again["fc"], before["fc"]) {
		t.Error("the original model's output changed")
	}
}

// A cascade step keeps the earlier steps' values; the folded BatchNorm
// uses its new scale and shift with the original statistics.
func TestWithRandomWeightsCascadeAndBatchNorm(t *testing.T) {
	m := randNet(t)
	x := randInput()
	r1, err := m.WithRandomWeights([]string{"fc"}, 7)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := m.WithRandomWeights([]string{"fc", "bn"}, 7)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(constOf(r1, "fc_w"), constOf(r2, "fc_w")) {
		t.Error("fc's random weights differ between cascade steps with the same seed")
	}
	other, err := m.WithRandomWeights([]string{"fc"}, 8)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(constOf(other, "fc_w"), constOf(r1, "fc_w")) {
		t.Error("seeds 7 and 8 gave the same weights")
	}
	if !slices.Equal(constOf(r2, "bn_mean"), constOf(m, "bn_mean")) || !slices.Equal(constOf(r2, "bn_var"), constOf(m, "bn_var")) {
		t.Error("BatchNorm's running statistics were randomized")
	}
	if slices.Equal(constOf(r2, "bn_scale"), constOf(m, "bn_scale")) {
		t.Error("BatchNorm's scale was not randomized")
	}
	v := layerValues(t, r2, x, "conv", "bn")
	orig := layerValues(t, m, x, "conv")
	if !slices.Equal(v["conv"], orig["conv"]) {
		t.Error("conv changed although only fc and bn were randomized")
	}
	sc, sh, mean, vr := constOf(r2, "bn_scale"), constOf(r2, "bn_b"), constOf(m, "bn_mean"), constOf(m, "bn_var")
	for i, c := range v["conv"] {
		ch := i / 16
		want := float64(sc[ch])*(float64(c)-float64(mean[ch]))/math.Sqrt(float64(vr[ch])+1e-5) + float64(sh[ch])
		if d := math.Abs(float64(v["bn"][i]) - want); d > 1e-5 {
			t.Fatalf("bn[%d] = %g, want %g from the randomized scale and shift", i, v["bn"][i], want)
		}
	}
	if o := layerValues(t, m, x, "bn"); slices.Equal(o["bn"], v["bn"]) {
		t.Error("bn's output did not change")
	}
}

func TestWithRandomWeightsErrors(t *testing.T) {
	m := randNet(t)
	for layer, want := range map[string]string{
		"relu": `layer "relu" (Relu) has no learned parameters`,
		"nope": `no layer "nope"`,
		"x":    `layer "x" is not computed by a node`,
	} {
		_, err := m.WithRandomWeights([]string{layer}, 1)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("WithRandomWeights(%s): error %v, want one containing %q", layer, err, want)
		}
	}
}

func stdOf(v []float32) float64 {
	mean, ss := 0.0, 0.0
	for _, x := range v {
		mean += float64(x)
	}
	mean /= float64(len(v))
	for _, x := range v {
		ss += (float64(x) - mean) * (float64(x) - mean)
	}
	return math.Sqrt(ss / float64(len(v)))
}
