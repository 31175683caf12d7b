package vis

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/deepscope/deepscope/model"
)

// The models are written by testdata/make_models.py, whose weights the
// tests repeat as literals.

func loadModel(t testing.TB, name string) *model.Model {
	t.Helper()
	m, err := model.Load("testdata/"+name+".onnx", model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// linearW is the linear model's weight W[c, i] for class c and flattened
// input index i; its bias is [0.5, -0.25].
func linearW(c, i int) float32 { return float32(((7*i+3*c)%11)-5) / 10 }

// linearX is the test input of the linear models (mixed signs).
func linearX() *model.Tensor {
	x := model.NewTensor(1, 3, 4, 4)
	for i := range x.Data {
		x.Data[i] = float32((5*i)%13-6) / 4
	}
	return x
}

func classRequest(t testing.TB, m *model.Model, x *model.Tensor, class int) *Request {
	t.Helper()
	tg, err := ClassTarget(m, class)
	if err != nil {
		t.Fatal(err)
	}
	return &Request{Model: m, Input: x, Target: tg}
}

func compute(t testing.TB, name string, r *Request) *Map {
	t.Helper()
	method, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	mp, err := method.Compute(context.Background(), r)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if mp.Method != name {
		t.Errorf("%s: map says method %q", name, mp.Method)
	}
	return mp
}

// assertClose fails when got and want differ by more than tol (absolute,
// plus tol relative to want's largest magnitude).
func assertClose(t testing.TB, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	peak := 0.0
	for _, w := range want {
		peak = math.Max(peak, math.Abs(w))
	}
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= tol*(1+peak)) {
			t.Fatalf("%s[%d] = %g, want %g (and %d values more)\ngot  %v\nwant %v", what, i, got[i], want[i], len(got)-i-1, got, want)
		}
	}
}

func TestLogitLayerSkipsSoftmax(t *testing.T) {
	if got := LogitLayer(loadModel(t, "linear")); got != "logits" {
		t.Errorf("linear: LogitLayer = %q, want logits (the Softmax's input)", got)
	}
	if got := LogitLayer(loadModel(t, "mlp")); got != "out" {
		t.Errorf("mlp: LogitLayer = %q, want the output out", got)
	}
}

// On a linear model every gradient method is exact: the gradient is the
// class's weight row everywhere.
func TestGradientMethodsOnLinearModel(t *testing.T) {
	for _, name := range []string{"linear", "linear_fixed"} {
		m := loadModel(t, name)
		x := linearX()
		r := classRequest(t, m, x, 1)
		r.Samples, r.Steps = 7, 5
		w := make([]float64, 48)
		wx := make([]float64, 48)
		score := -0.25
		for i := range w {
			w[i] = float64(linearW(1, i))
			wx[i] = w[i] * float64(x.Data[i])
			score += wx[i]
		}
		for method, want := range map[string][]float64{
			"saliency": w, "deconv": w, "guided": w, "smoothgrad": w,
			"gradxinput": wx, "ig": wx,
		} {
			mp := compute(t, method, r)
			if mp.Kind != InputMap || !model.SameShape(mp.Data.Shape, []int{3, 4, 4}) || mp.Height != 4 || mp.Width != 4 {
				t.Errorf("%s %s: kind %v shape %v %dx%d, want an input map 3x4x4", name, method, mp.Kind, mp.Data.Shape, mp.Height, mp.Width)
			}
			assertClose(t, name+" "+method, mp.Data.Data, want, 1e-6)
			if math.Abs(mp.Score-score) > 1e-5 {
				t.Errorf("%s %s: score %g, want the logit %g", name, method, mp.Score, score)
			}
		}
	}
}

// Occlusion on the linear model: zeroing a patch drops the logit by the
// patch's Σ w_i x_i.
func TestOcclusionOnLinearModel(t *testing.T) {
	for _, name := range []string{"linear", "linear_fixed"} {
		m := loadModel(t, name)
		x := linearX()
		r := classRequest(t, m, x, 0)
		r.Patch, r.Stride = 2, 1
		mp := compute(t, "occlusion", r)
		if mp.Kind != HeatMap || !model.SameShape(mp.Data.Shape, []int{3, 3}) {
			t.Fatalf("%s: occlusion map %v %v, want a 3x3 heat map", name, mp.Kind, mp.Data.Shape)
		}
		want := make([]float64, 9)
		for gy := range 3 {
			for gx := range 3 {
				for c := range 3 {
					for y := gy; y < gy+2; y++ {
						for xx := gx; xx < gx+2; xx++ {
							i := (c*4+y)*4 + xx
							want[gy*3+gx] += float64(linearW(0, i)) * float64(x.Data[i])
						}
					}
				}
			}
		}
		assertClose(t, name+" occlusion", mp.Data.Data, want, 1e-6)
		if mp.Origin != [2]float64{0.5, 0.5} || mp.Step != [2]float64{1, 1} {
			t.Errorf("occlusion grid origin %v step %v, want patch centres 0.5 + i", mp.Origin, mp.Step)
		}
		// A patch larger than the input covers all of it: one cell, the
		// whole score above the bias.
		r.Patch, r.Stride = 32, 8
		mp = compute(t, "occlusion", r)
		total := 0.0
		for i, v := range x.Data {
			total += float64(linearW(0, i)) * float64(v)
		}
		assertClose(t, name+" occlusion 32", mp.Data.Data, []float64{total}, 1e-6)
	}
}

// mlp: score = w2 . relu(W1 x), x = [1, -1, 2, 0.5], so W1 x = [-3, 1.5, 3.5]
// and w2 = [1, -1, 2]. Vanilla passes w2 through the active units 2 and 3,
// guided only their positive part, deconv every positive part.
func TestBackwardRulesOnMLP(t *testing.T) {
	m := loadModel(t, "mlp")
	x := model.FromData([]float32{1, -1, 2, 0.5}, 1, 1, 2, 2)
	r := classRequest(t, m, x, 0)
	for method, want := range map[string][]float64{
		"saliency": {-2, -1, 3, 1}, // -1*W1[1] + 2*W1[2]
		"guided":   {-2, 0, 4, 2},  // 2*W1[2]
		"deconv":   {-1, 2, 3, 2},  // 1*W1[0] + 2*W1[2]
	} {
		mp := compute(t, method, r)
		assertClose(t, method, mp.Data.Data, want, 1e-6)
		if mp.Score != -1.5+7 {
			t.Errorf("%s: score %g, want 5.5", method, mp.Score)
		}
	}
	if _, err := (CAM{}).Compute(context.Background(), r); err == nil || !strings.Contains(err.Error(), "global average pooling") {
		t.Errorf("cam on a network without global average pooling: err %v", err)
	}
}

// gapnet: logits = W GAP(x) + b with the input as CAM layer; class 1 has
// weights [0.5, 3].
func gapnetRequest(t *testing.T) (*Request, [2][]float64) {
	m := loadModel(t, "gapnet")
	a0 := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9}
	a1 := []float64{0, 1, 0, 2, -1, 3, 0, 0, -5}
	x := model.NewTensor(1, 2, 3, 3)
	for i := range 9 {
		x.Data[i], x.Data[9+i] = float32(a0[i]), float32(a1[i])
	}
	r := classRequest(t, m, x, 1)
	r.CamLayer = "data"
	return r, [2][]float64{a0, a1}
}

func TestCAMFamilyOnGAPNet(t *testing.T) {
	r, a := gapnetRequest(t)
	cam := make([]float64, 9)
	gradcam := make([]float64, 9)
	pp := make([]float64, 9)
	for i := range 9 {
		cam[i] = 0.5*a[0][i] + 3*a[1][i]
		gradcam[i] = math.Max(0, cam[i]/9)
		// g = W/9 everywhere; channel 0: Σ A = 45, α = 1/(2 + 45 g) =
		// 1/4.5, w = 9 α g = 1/9; channel 1: Σ A = 0, α = 1/2, w = 1.5.
		pp[i] = math.Max(0, a[0][i]/9+1.5*a[1][i])
	}
	for method, want := range map[string][]float64{"cam": cam, "gradcam": gradcam, "gradcam++": pp} {
		mp := compute(t, method, r)
		if mp.Kind != HeatMap || mp.Layer != "data" || !model.SameShape(mp.Data.Shape, []int{3, 3}) {
			t.Errorf("%s: kind %v layer %q shape %v, want a 3x3 heat map at data", method, mp.Kind, mp.Layer, mp.Data.Shape)
		}
		assertClose(t, method, mp.Data.Data, want, 1e-6)
		if want := 0.5*5 + 3*0 + 0.2; math.Abs(mp.Score-want) > 1e-6 {
			t.Errorf("%s: score %g, want %g", method, mp.Score, want)
		}
	}

	// Score-CAM: masks M_0 = (A_0 - 1)/8, M_1 = (A_1 + 5)/8 (the layer is
	// the input: upsampling is the identity). The logits of x ⊙ M_k are
	// z_c = Σ_j W_cj mean(A_j ⊙ M_k) + b_c; a class weighs channel k by
	// softmax(z)_1, a unit by its increase z_1 - b_1 over the input 0.
	masks := [2][]float64{make([]float64, 9), make([]float64, 9)}
	for i := range 9 {
		masks[0][i] = (a[0][i] - 1) / 8
		masks[1][i] = (a[1][i] + 5) / 8
	}
	W := [2][2]float64{{1, -2}, {0.5, 3}}
	var prob, rise [2]float64
	for k := range 2 {
		var z [2]float64
		for c := range 2 {
			for j := range 2 {
				s := 0.0
				for i := range 9 {
					s += a[j][i] * masks[k][i]
				}
				z[c] += W[c][j] * s / 9
			}
		}
		rise[k] = z[1]
		z[0], z[1] = z[0]+0.1, z[1]+0.2
		prob[k] = math.Exp(z[1]) / (math.Exp(z[0]) + math.Exp(z[1]))
	}
	scorecam := func(alpha [2]float64) []float64 {
		out := make([]float64, 9)
		for i := range 9 {
			out[i] = math.Max(0, alpha[0]*a[0][i]+alpha[1]*a[1][i])
		}
		return out
	}
	assertClose(t, "scorecam class", compute(t, "scorecam", r).Data.Data, scorecam(prob), 1e-6)
	unit := *r
	var err error
	if unit.Target, err = UnitTarget(r.Model, "logits", 1, AtSum, 0, 0); err != nil {
		t.Fatal(err)
	}
	assertClose(t, "scorecam unit", compute(t, "scorecam", &unit).Data.Data, scorecam(rise), 1e-6)

	// Without --cam-layer there is no spatial layer to default to.
	r.CamLayer = ""
	if _, err := (GradCAM{}).Compute(context.Background(), r); err == nil || !strings.Contains(err.Error(), "no layer with a spatial output") {
		t.Errorf("gradcam without a spatial layer: err %v", err)
	}
	r.CamLayer = "gap"
	if _, err := (GradCAM{}).Compute(context.Background(), r); err == nil || !strings.Contains(err.Error(), "H*W > 1") {
		t.Errorf("gradcam at a 1x1 layer: err %v", err)
	}
}

// cnnInput is a fixed 1x3x6x6 input with mixed signs.
func cnnInput() *model.Tensor {
	x := model.NewTensor(1, 3, 6, 6)
	for i := range x.Data {
		x.Data[i] = float32(math.Sin(float64(i)*0.7)) * 2
	}
	return x
}

// On conv -> relu -> GAP -> linear, Grad-CAM at the relu is ReLU(CAM)/hw,
// and guided Grad-CAM is guided backprop times it (same resolution).
func TestCAMAndGradCAMAgreeOnCNN(t *testing.T) {
	m := loadModel(t, "cnn")
	r := classRequest(t, m, cnnInput(), 2)
	if l, err := DefaultCamLayer(m, r.Target); err != nil || l != "relu" {
		t.Fatalf("DefaultCamLayer = %q, %v; want relu (the last spatial layer)", l, err)
	}
	if l, pooled, err := CAMLayer(m, "logits"); l != "relu" || pooled != "gap" || err != nil {
		t.Fatalf("CAMLayer = %q, %q, %v; want relu, gap", l, pooled, err)
	}
	cam := compute(t, "cam", r)
	want := make([]float64, 36)
	nonzero := 0
	for i, v := range cam.Data.Data {
		want[i] = math.Max(0, float64(v)) / 36
		if want[i] > 0 {
			nonzero++
		}
	}
	if nonzero == 0 || nonzero == 36 {
		t.Fatalf("test input gives %d positive CAM cells of 36; want some of each sign", nonzero)
	}
	gc := compute(t, "gradcam", r)
	assertClose(t, "gradcam", gc.Data.Data, want, 1e-5)

	// CAM is the weights of the linear layer applied to the relu channels.
	a, err := m.Run(r.Input)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	relu, _ := a.Get("relu")
	fw, _ := a.Get("fw")
	for i := range 36 {
		want[i] = float64(fw.Data[2*2])*float64(relu.Data[i]) + float64(fw.Data[2*2+1])*float64(relu.Data[36+i])
	}
	assertClose(t, "cam", cam.Data.Data, want, 1e-5)

	guided := compute(t, "guided", r)
	gg := compute(t, "guided-gradcam", r)
	want = make([]float64, 3*36)
	for i := range want {
		want[i] = float64(guided.Data.Data[i]) * float64(gc.Data.Data[i%36])
	}
	assertClose(t, "guided-gradcam", gg.Data.Data, want, 1e-5)
}

func TestUnitTargets(t *testing.T) {
	m := loadModel(t, "cnn")
	x := cnnInput()
	a, err := m.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	conv, _ := a.Get("conv")
	plane := conv.Data[36 : 2*36] // unit 1
	best := 0
	sum := 0.0
	for i, v := range plane {
		if v > plane[best] {
			best = i
		}
		sum += float64(v)
	}
	for _, c := range []struct {
		at    At
		y, x  int
		score float64
		ones  []int
	}{
		{AtSum, 0, 0, sum, nil},
		{AtMax, 0, 0, float64(plane[best]), []int{36 + best}},
		{AtPoint, 2, 5, float64(plane[2*6+5]), []int{36 + 2*6 + 5}},
	} {
		tg, err := UnitTarget(m, "conv", 1, c.at, c.y, c.x)
		if err != nil {
			t.Fatal(err)
		}
		s, err := tg.Scores(a)
		if err != nil || len(s) != 1 || math.Abs(s[0]-c.score) > 1e-5 {
			t.Errorf("%v: scores %v, %v; want [%g]", tg, s, err, c.score)
		}
		seed, err := tg.Seed(a)
		if err != nil {
			t.Fatal(err)
		}
		if c.ones == nil { // all of unit 1's plane
			for i := 36; i < 72; i++ {
				c.ones = append(c.ones, i)
			}
		}
		want := make([]float64, 72)
		for _, i := range c.ones {
			want[i] = 1
		}
		assertClose(t, tg.String()+" seed", seed.Data, want, 0)
	}

	// The saliency of a single position only reaches its 3x3 receptive
	// field (conv 3x3, pad 1) around (2, 5).
	tg, _ := UnitTarget(m, "conv", 1, AtPoint, 2, 5)
	mp := compute(t, "saliency", &Request{Model: m, Input: x, Target: tg})
	for c := range 3 {
		for y := range 6 {
			for xx := range 6 {
				inside := y >= 1 && y <= 3 && xx >= 4
				if v := mp.Data.Data[(c*6+y)*6+xx]; (v != 0) != inside {
					t.Errorf("saliency of conv[1] at 2,5: input %d,%d,%d = %g, inside the receptive field: %v", c, y, xx, v, inside)
				}
			}
		}
	}

	for _, bad := range []struct {
		layer  string
		unit   int
		at     At
		y, x   int
		errSub string
	}{
		{"conv", 2, AtSum, 0, 0, "unit 2 is out of range"},
		{"conv", 0, AtPoint, 6, 0, "outside conv's 6x6"},
		{"logits", 0, AtPoint, 0, 0, "two spatial axes"},
		{"nope", 0, AtSum, 0, 0, "no layer"},
	} {
		if _, err := UnitTarget(m, bad.layer, bad.unit, bad.at, bad.y, bad.x); err == nil || !strings.Contains(err.Error(), bad.errSub) {
			t.Errorf("UnitTarget(%s, %d, %v): err %v, want %q", bad.layer, bad.unit, bad.at, err, bad.errSub)
		}
	}
	if _, err := ClassTarget(m, 3); err == nil || !strings.Contains(err.Error(), "3 classes") {
		t.Errorf("class 3 of 3: err %v", err)
	}
	// A CAM layer after the target layer gets no gradient.
	r := &Request{Model: m, Input: x, Target: tg, CamLayer: "relu"}
	if _, err := (GradCAM{}).Compute(context.Background(), r); err == nil || !strings.Contains(err.Error(), "after the target") {
		t.Errorf("cam layer after the target: err %v", err)
	}
}

func TestParseAt(t *testing.T) {
	for s, want := range map[string][3]int{"": {int(AtSum)}, "sum": {int(AtSum)}, "max": {int(AtMax)}, "3,5": {int(AtPoint), 3, 5}, " 0 , 12": {int(AtPoint), 0, 12}} {
		at, y, x, err := ParseAt(s)
		if err != nil || [3]int{int(at), y, x} != want {
			t.Errorf("ParseAt(%q) = %v %d %d %v, want %v", s, at, y, x, err, want)
		}
	}
	for _, s := range []string{"min", "3", "3,", "-1,2", "a,b"} {
		if _, _, _, err := ParseAt(s); err == nil {
			t.Errorf("ParseAt(%q) accepted", s)
		}
	}
}

func TestBatching(t *testing.T) {
	if !acceptsBatch(loadModel(t, "linear")) {
		t.Error("linear (symbolic batch) does not take a batch")
	}
	if acceptsBatch(loadModel(t, "cnn")) {
		t.Error("cnn (batch fixed to 1) takes a batch")
	}
	// Batched and one-by-one SmoothGrad and Score-CAM agree, and the noise
	// follows the seed.
	m := loadModel(t, "linear")
	r := classRequest(t, m, linearX(), 0)
	r.Samples = 5
	calls := 0
	r.Progress = func(done, total int) {
		calls++
		if done > total {
			t.Errorf("progress %d/%d", done, total)
		}
	}
	if b := r.batchSize(5); b != 5 {
		t.Errorf("batch size %d, want all 5 samples", b)
	}
	batched := compute(t, "smoothgrad", r)
	if calls != 1 {
		t.Errorf("%d progress calls for one batch", calls)
	}
	r.Batch = 1
	one := compute(t, "smoothgrad", r)
	if calls != 6 {
		t.Errorf("%d progress calls, want 1 + 5", calls)
	}
	want := make([]float64, 48)
	for i, v := range one.Data.Data {
		want[i] = float64(v)
	}
	assertClose(t, "smoothgrad batched", batched.Data.Data, want, 1e-6)

	// Scores of variants: k·x for k = 0, 1, 2 score k·(W x) + b.
	wx := 0.0
	for i, v := range r.Input.Data {
		wx += float64(linearW(0, i)) * float64(v)
	}
	for _, batch := range []int{0, 1} {
		r.Batch = batch
		scores, err := r.Scores(context.Background(), 3, func(i int, dst []float32) {
			for j, v := range r.Input.Data {
				dst[j] = float32(i) * v
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		assertClose(t, "scores", []float32{float32(scores[0]), float32(scores[1]), float32(scores[2])},
			[]float64{0.5, wx + 0.5, 2*wx + 0.5}, 1e-6)
	}

	var a, b [4]float32
	Noise(1, 2, a[:])
	Noise(1, 2, b[:])
	if a != b {
		t.Errorf("Noise is not deterministic: %v, %v", a, b)
	}
	Noise(1, 3, b[:])
	if a == b {
		t.Errorf("samples 2 and 3 have the same noise %v", a)
	}
}

// A long method stops at the next pass after its context is cancelled.
func TestCancellation(t *testing.T) {
	m := loadModel(t, "cnn")
	for _, name := range []string{"occlusion", "smoothgrad", "ig", "scorecam"} {
		ctx, cancel := context.WithCancel(context.Background())
		r := classRequest(t, m, cnnInput(), 0)
		r.Patch, r.Stride, r.Samples, r.Steps = 1, 1, 1000, 1000
		after := -1
		var cancelled time.Time
		r.Progress = func(done, total int) {
			if done == 1 {
				cancel()
				cancelled = time.Now()
				after = 0
			} else if after >= 0 {
				after++
			}
		}
		method, _ := Lookup(name)
		_, err := method.Compute(ctx, r)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: err %v, want context.Canceled", name, err)
		}
		if after != 0 {
			t.Errorf("%s: %d passes after the cancellation", name, after)
		}
		if d := time.Since(cancelled); d > 100*time.Millisecond {
			t.Errorf("%s took %v to stop", name, d)
		}
		cancel()
	}
	// A cancelled context stops even the one-pass methods.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, method := range Methods() {
		if _, err := method.Compute(ctx, classRequest(t, m, cnnInput(), 0)); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: err %v", method.Name(), err)
		}
	}
}

func TestRegistry(t *testing.T) {
	var names []string
	for _, m := range Methods() {
		names = append(names, m.Name())
	}
	if strings.Join(names, " ") != strings.Join(Names(), " ") {
		t.Errorf("Methods() = %v, want every name of %v", names, Names())
	}
	if _, err := Lookup("lime"); err == nil || !strings.Contains(err.Error(), "gradcam++") {
		t.Errorf("Lookup(lime): err %v, want the list of methods", err)
	}
}

func TestRequestChecks(t *testing.T) {
	m := loadModel(t, "cnn")
	r := classRequest(t, m, model.NewTensor(1, 3, 5, 5), 0)
	if _, err := (Saliency{}).Compute(context.Background(), r); err == nil || !strings.Contains(err.Error(), "wants 1x3x6x6") {
		t.Errorf("wrong input shape: err %v", err)
	}
	r = &Request{Model: m, Input: cnnInput()}
	if _, err := (Saliency{}).Compute(context.Background(), r); err == nil {
		t.Error("a request without target was accepted")
	}
}
