package model

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Temporary: dumps per-layer gradients for debugging (deleted afterwards).
func TestZZTorchDebugDump(t *testing.T) {
	dir := os.Getenv("DBG_DIR")
	if dir == "" {
		t.Skip()
	}
	out := os.Getenv("DBG_OUT")
	mode, _ := ParseMode(os.Getenv("DBG_MODE"))
	m, err := Load(filepath.Join(dir, "model.onnx"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	x, _ := ReadNPY(filepath.Join(dir, "input.npy"))
	a, err := m.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	cls, _ := strconv.Atoi(os.Getenv("DBG_CLASS"))
	o, _ := a.Get("logits")
	seed := NewTensor(o.Shape...)
	seed.Data[cls] = 1
	var want []string
	want = append(want, "input")
	for _, l := range m.Layers {
		if l.DType == Float32 && !strings.Contains(l.Op, "Constant") {
			want = append(want, l.Name)
		}
	}
	g, err := m.Backward(a, map[string]*Tensor{"logits": seed}, mode, want...)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i, n := range want {
		if g[n] == nil {
			continue
		}
		f := "g_" + strconv.Itoa(i) + ".npy"
		WriteNPY(filepath.Join(out, f), g[n])
		names = append(names, n+"\t"+f)
	}
	os.WriteFile(filepath.Join(out, "index.tsv"), []byte(strings.Join(names, "\n")), 0o644)
}
