package model

import (
	"os"
	"path/filepath"
	"testing"
)

// Temporary: is Backward repeatable on one Activations? (deleted afterwards)
func TestZZTorchDebugRepeat(t *testing.T) {
	dir := os.Getenv("DBG_DIR")
	if dir == "" {
		t.Skip()
	}
	m, err := Load(filepath.Join(dir, "model.onnx"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	x, _ := ReadNPY(filepath.Join(dir, "input.npy"))
	a, err := m.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	o, _ := a.Get("logits")
	seed := NewTensor(o.Shape...)
	seed.Data[416] = 1
	var snap []*Tensor
	for _, l := range m.Layers {
		v, _ := a.Get(l.Name)
		snap = append(snap, v.Clone())
	}
	run := func(mode Mode) *Tensor {
		g, err := m.Backward(a, map[string]*Tensor{"logits": seed}, mode, "input")
		if err != nil {
			t.Fatal(err)
		}
		return g["input"]
	}
	d1 := run(Deconvnet)
	run(Vanilla)
	for i, l := range m.Layers {
		v, _ := a.Get(l.Name)
		if e := maxRelErr(v, snap[i]); e != 0 {
			t.Logf("after vanilla backward, layer %s (%s) changed: %g", l.Name, l.Op, e)
		}
	}
	run(Guided)
	d2 := run(Deconvnet)
	t.Logf("deconvnet first vs after others: %g", relL2Err(d2, d1))
}
