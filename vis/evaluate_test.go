package vis

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/deepscope/deepscope/model"
)

// gemmNet builds x (1 x 1 x 1 x len(w[0])) -> Flatten -> Gemm "fc1" with
// the rows of w1 (no bias) and, when w2 is given, -> Gemm "fc2" with the
// rows of w2; the last Gemm is the logits.
func gemmNet(t *testing.T, w1, w2 [][]float32) *model.Model {
	t.Helper()
	mat := func(w [][]float32) *model.Tensor {
		var d []float32
		for _, row := range w {
			d = append(d, row...)
		}
		return model.FromData(d, len(w), len(w[0]))
	}
	n := len(w1[0])
	b := model.NewGraphBuilder("gemmnet")
	x := b.Input("x", model.Float32, 1, 1, 1, n)
	f := b.Node("Flatten", "flat", nil, x)
	out := b.Node("Gemm", "fc1", model.Attrs{"transB": 1}, f, b.Initializer("w1", mat(w1)))
	classes := len(w1)
	if w2 != nil {
		out = b.Node("Gemm", "fc2", model.Attrs{"transB": 1}, out, b.Initializer("w2", mat(w2)))
		classes = len(w2)
	}
	b.Output(out, model.Float32, 1, classes)
	data, err := b.Graph().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Decode(data, model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// On a linear two-class net the class-0 probability is σ(w·x): the curves
// follow from the pixel order by hand.
func TestDeletionInsertionByHand(t *testing.T) {
	w := []float32{4, 3, 2, 1}
	m := gemmNet(t, [][]float32{w, {0, 0, 0, 0}}, nil)
	x := model.FromData([]float32{1, 2, -1, 0.5}, 1, 1, 1, 4)
	// Pixel order 1, 2, 3, 0 (the tie between 2 and 3 in pixel order).
	sal := []float32{0.1, 0.9, 0.5, 0.5}
	logit := func(v []float64) float64 {
		s := 0.0
		for i := range v {
			s += float64(w[i]) * v[i]
		}
		return s
	}
	// Deletion: 8.5, minus pixel 1 (6) = 2.5, minus pixel 2 (-2) = 4.5,
	// minus pixel 3 (0.5) = 4, minus pixel 0 (4) = 0.
	wantDel := []float64{sigmoid(8.5), sigmoid(2.5), sigmoid(4.5), sigmoid(4), 0.5}
	// Insertion starts from the blur (σ = 0.5: radius 2, weights
	// exp(-2d²), rows reflected 101 as 2 1 [0 1 2 3] 2 1).
	k := []float64{math.Exp(-8), math.Exp(-2), 1, math.Exp(-2), math.Exp(-8)}
	taps := [4][5]int{{2, 1, 0, 1, 2}, {1, 0, 1, 2, 3}, {0, 1, 2, 3, 2}, {1, 2, 3, 2, 1}}
	xs := []float64{1, 2, -1, 0.5}
	blur := make([]float64, 4)
	for j := range blur {
		s, norm := 0.0, 0.0
		for d, i := range taps[j] {
			s += k[d] * xs[i]
			norm += k[d]
		}
		blur[j] = s / norm
	}
	var wantIns []float64
	cur := slices.Clone(blur)
	for step, p := range []int{-1, 1, 2, 3, 0} {
		if step > 0 {
			cur[p] = xs[p]
		}
		wantIns = append(wantIns, sigmoid(logit(cur)))
	}
	auc := func(p []float64) float64 { return 0.25 * (p[0]/2 + p[1] + p[2] + p[3] + p[4]/2) }

	for _, batch := range []int{1, 0} {
		r := classRequest(t, m, x, 0)
		r.Batch = batch
		cv, err := r.DeletionInsertion(context.Background(), sal, CurveOptions{Steps: 4, BlurSigma: 0.5})
		if err != nil {
			t.Fatal(err)
		}
		assertFloats(t, "fraction", cv.Fraction, []float64{0, 0.25, 0.5, 0.75, 1})
		assertFloats(t, "deletion", cv.Deletion, wantDel)
		assertFloats(t, "insertion", cv.Insertion, wantIns)
		assertFloats(t, "AUCs", []float64{cv.DeletionAUC, cv.InsertionAUC}, []float64{auc(wantDel), auc(wantIns)})
		if !cv.Probability {
			t.Error("a class target's curves are not marked as probabilities")
		}
	}

	// Two steps over 4 pixels change 0, 2, 4 pixels.
	cv, err := classRequest(t, m, x, 0).DeletionInsertion(context.Background(), sal, CurveOptions{Steps: 2, BlurSigma: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	assertFloats(t, "2-step deletion", cv.Deletion, []float64{wantDel[0], wantDel[2], wantDel[4]})
	assertFloats(t, "2-step deletion AUC", []float64{cv.DeletionAUC},
		[]float64{0.5 * (wantDel[0]/2 + wantDel[2] + wantDel[4]/2)})

	if _, err := classRequest(t, m, x, 0).DeletionInsertion(context.Background(), sal[:3], CurveOptions{}); err == nil ||
		!strings.Contains(err.Error(), "3 values") {
		t.Errorf("a 3-value saliency for 4 pixels: error %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := classRequest(t, m, x, 0).DeletionInsertion(ctx, sal, CurveOptions{}); err != context.Canceled {
		t.Errorf("cancelled: error %v", err)
	}
}

// A unit target's curves are its raw score, and the default blur of a
// uniform input leaves it unchanged.
func TestDeletionInsertionUnitTarget(t *testing.T) {
	m := gemmNet(t, [][]float32{{4, 3, 2, 1}, {1, 1, 1, 1}}, nil)
	x := model.FromData([]float32{2, 2, 2, 2}, 1, 1, 1, 4)
	tg, err := UnitTarget(m, "fc1", 0, AtSum, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := &Request{Model: m, Input: x, Target: tg}
	cv, err := r.DeletionInsertion(context.Background(), []float32{1, 2, 3, 4}, CurveOptions{Steps: 4})
	if err != nil {
		t.Fatal(err)
	}
	// Order 3, 2, 1, 0: deletion 20, 18, 14, 8, 0; insertion stays 20.
	assertFloats(t, "deletion", cv.Deletion, []float64{20, 18, 14, 8, 0})
	assertFloats(t, "insertion", cv.Insertion, []float64{20, 20, 20, 20, 20})
	if cv.Probability {
		t.Error("a unit target's curves are marked as probabilities")
	}
}

func TestPixelSaliency(t *testing.T) {
	in := &Map{Method: "saliency", Kind: InputMap, Height: 1, Width: 3,
		Data: model.FromData([]float32{1, -5, 0, -2, 3, 0.5}, 2, 1, 3)}
	got, err := PixelSaliency(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{2, 5, 0.5}; !slices.Equal(got, want) {
		t.Errorf("input map: %v, want %v", got, want)
	}
	heat := &Map{Method: "gradcam", Kind: HeatMap, Height: 4, Width: 4, Data: model.FromData([]float32{0, 4, 8, 12}, 2, 2),
		Origin: [2]float64{0.5, 0.5}, Step: [2]float64{2, 2}}
	got, err = PixelSaliency(heat)
	if err != nil {
		t.Fatal(err)
	}
	// Cell centres at pixels 0.5 and 2.5: pixels 0..3 take 1, 3/4, 1/4, 0
	// of the first cell (held beyond the centres).
	want := []float32{0, 1, 3, 4, 2, 3, 5, 6, 6, 7, 9, 10, 8, 9, 11, 12}
	if !slices.Equal(got, want) {
		t.Errorf("heat map: %v, want %v", got, want)
	}
	if _, err := PixelSaliency(&Map{Method: "x", Kind: InputMap, Height: 2, Width: 2, Data: model.NewTensor(3, 1, 2)}); err == nil {
		t.Error("a mis-shaped input map gave no error")
	}
}

func TestRandomSaliency(t *testing.T) {
	a, b, c := RandomSaliency(4, 5, 1), RandomSaliency(4, 5, 1), RandomSaliency(4, 5, 2)
	if len(a) != 20 || !slices.Equal(a, b) || slices.Equal(a, c) {
		t.Errorf("RandomSaliency: %v, %v, %v", a, b, c)
	}
	for _, v := range a {
		if !(v >= 0 && v < 1) {
			t.Errorf("value %g outside [0, 1)", v)
		}
	}
}

func assertFloats(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %v, want %v", what, got, want)
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-6 {
			t.Fatalf("%s: %v, want %v", what, got, want)
		}
	}
}
