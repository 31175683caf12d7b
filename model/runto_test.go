package model

import (
	"math/rand"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRunTo: a pass that stops at a layer computes that layer exactly as a
// full pass does (and its input gradient through Backward), leaves the
// layers past it without a value, and refuses a layer that does not exist.
func TestRunTo(t *testing.T) {
	m, err := Load(filepath.Join("..", "testdata", "torch", "squeezenet1_1", "model.onnx"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := randTensor(rand.New(rand.NewSource(7)), m.Input().Shape...)
	full, err := m.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	defer full.Release()
	layer := m.values[m.nodes[len(m.nodes)/4].outputs[0]] // a quarter of the way in
	part, err := m.RunTo(x, layer)
	if err != nil {
		t.Fatal(err)
	}
	defer part.Release()
	want, _ := full.Get(layer)
	got, err := part.Get(layer)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Data, want.Data) {
		t.Fatalf("layer %s differs between RunTo and Run", layer)
	}
	if _, err := part.Get(m.Output()); err == nil || !strings.Contains(err.Error(), "no value") {
		t.Errorf("the output after RunTo(%s): err %v, want no value", layer, err)
	}
	computed := 0
	for _, v := range part.vals {
		if v != nil {
			computed++
		}
	}
	t.Logf("RunTo(%s): %d of %d values", layer, computed, len(m.values))
	seed := NewTensor(want.Shape...)
	for i := range seed.Data {
		seed.Data[i] = float32(i%7) - 3
	}
	in := m.Input().Name
	gFull, err := m.Backward(full, map[string]*Tensor{layer: seed}, Guided, in)
	if err != nil {
		t.Fatal(err)
	}
	gPart, err := m.Backward(part, map[string]*Tensor{layer: seed}, Guided, in)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(gFull[in].Data, gPart[in].Data) {
		t.Fatal("the input gradient differs between RunTo and Run")
	}
	if _, err := m.RunTo(x, "no-such-layer"); err == nil || !strings.Contains(err.Error(), "no-such-layer") {
		t.Errorf("RunTo of a missing layer: err %v, want one naming it", err)
	}
}
