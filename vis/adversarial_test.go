package vis

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/deepscope/deepscope/model"
)

// TestAttack checks FGSM and PGD on the tiny network: the perturbation stays
// within ε on the 8-bit grid, and a large enough ε changes the prediction.
func TestAttack(t *testing.T) {
	m := loadModel(t, "optim/optim")
	x := model.NewTensor(1, 3, 8, 8)
	optimSpace.ToInput(x.Data, randomPixels(2, 3*64), 3)
	for _, tc := range []struct {
		method string
		eps    float64
		target int
	}{{"fgsm", 8.0 / 255, -1}, {"pgd", 8.0 / 255, -1}, {"pgd", 2.5 / 255, -1}, {"pgd", 40.0 / 255, 2}} {
		a := &Attack{Model: m, Space: optimSpace, Image: x, Epsilon: tc.eps, Method: tc.method, Target: tc.target, Seed: 1}
		res, err := a.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if res.Linf > tc.eps+1e-6 {
			t.Errorf("%+v: L∞ %g > ε", tc, res.Linf)
		}
		for i, d := range res.Delta {
			if lv := float64(d) * 255; math.Abs(lv-math.Round(lv)) > 1e-3 {
				t.Fatalf("%+v: delta[%d] = %g levels, not on the 8-bit grid", tc, i, lv)
			}
		}
		probs, _ := ClassProbs(m, res.Image)
		if Argmax(probs) != res.Adversarial || probs[res.Adversarial] != res.AdvProb {
			t.Errorf("%+v: reported class %d (%g), recomputed %d", tc, res.Adversarial, res.AdvProb, Argmax(probs))
		}
		want := res.Adversarial != res.Clean
		if tc.target >= 0 {
			want = res.Adversarial == tc.target
		}
		if res.Success != want {
			t.Errorf("%+v: success %v, classes %d -> %d", tc, res.Success, res.Clean, res.Adversarial)
		}
		if tc.eps >= 8.0/255 && !res.Success {
			t.Errorf("%+v: the attack failed: %d (%.3f) -> %d (%.3f)", tc, res.Clean, res.CleanProb, res.Adversarial, res.AdvProb)
		}
	}
	for _, bad := range []*Attack{
		{Model: m, Image: x, Epsilon: 0},
		{Model: m, Image: x, Epsilon: 0.1, Method: "cw"},
		{Model: m, Image: x, Epsilon: 0.1, Target: 7},
		{Model: m, Image: model.NewTensor(1, 3, 4, 4), Epsilon: 0.1},
	} {
		if _, err := bad.Run(context.Background()); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// TestFoolingAndClassModel: the fooling run stops once the class reaches
// the confidence, which survives 8-bit rounding; the class model raises the
// class's logit.
func TestFoolingAndClassModel(t *testing.T) {
	m := loadModel(t, "optim/optim")
	// The tiny network's logits are bounded (a Gemm of tanh means), so
	// aim lower than 99%.
	o, err := Fooling(m, optimSpace, 3, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	o.Seed = 4
	res, err := Optimize(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	probs, _ := ClassProbs(m, Quantize(res.Images[0], optimSpace))
	if probs[3] < 0.9 || res.Steps >= o.Steps {
		t.Errorf("fooling: p = %g after %d steps", probs[3], res.Steps)
	}
	if _, err := Fooling(m, optimSpace, 9, 0.99); err == nil {
		t.Error("class 9 of 5 accepted")
	}
	c, err := ClassModel(m, optimSpace, 1, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	c.Steps = 30
	before, _ := LayerValue(m, model.NewTensor(1, 3, 8, 8), "logits")
	cres, err := Optimize(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := LayerValue(m, cres.Images[0], "logits")
	if !(after.Data[1] > before.Data[1]+1) {
		t.Errorf("class model: logit %g -> %g", before.Data[1], after.Data[1])
	}
}

// TestInversionAndStyle: inverting a shallow layer brings the features
// close, and style transfer lowers the style loss while starting from the
// content.
func TestInversionAndStyle(t *testing.T) {
	m := loadModel(t, "optim/optim")
	x0 := model.NewTensor(1, 3, 8, 8)
	optimSpace.ToInput(x0.Data, randomPixels(6, 3*64), 3)
	o, err := Inversion(m, optimSpace, "act1", x0, 1e-4, 1e-4)
	if err != nil {
		t.Fatal(err)
	}
	o.Steps = 150
	o.Transforms = Transforms{}
	res, err := Optimize(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	e, err := InversionError(m, "act1", res.Images[0], x0)
	if err != nil {
		t.Fatal(err)
	}
	e0, _ := InversionError(m, "act1", model.NewTensor(1, 3, 8, 8), x0)
	if !(e < 0.2 && e < e0/3) {
		t.Errorf("inversion error %g (grey image: %g)", e, e0)
	}
	style := model.NewTensor(1, 3, 8, 8)
	optimSpace.ToInput(style.Data, randomPixels(7, 3*64), 3)
	content, layers := StyleLayers(m)
	if content != "act2" || !slices.Equal(layers, []string{"act1", "act2"}) {
		t.Errorf("StyleLayers = %q, %v", content, layers)
	}
	s, err := StyleTransfer(m, optimSpace, x0, style, "act1", []string{"act1", "act2"}, 0.1, 1)
	if err != nil {
		t.Fatal(err)
	}
	s.Steps = 60
	s.Every = 1
	var first []float64
	s.OnStep = func(p *OptProgress) error {
		if first == nil {
			first = p.Values
		}
		return nil
	}
	sres, err := Optimize(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if !(sres.Values[0] > first[0]/2) {
		t.Errorf("style objective %g after, %g at the first step", sres.Values[0], first[0])
	}
}
