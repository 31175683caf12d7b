package model

import (
	"os"
	"path/filepath"
	"testing"
)

// Whole-network benchmarks: SqueezeNet-1.1 at 224x224 (from the PyTorch
// reference cache, see `make testdata-torch`) and tiny_darknet (the live
// path, from the shared models). `make bench` compares them with PyTorch.

func benchModel(b *testing.B) map[string]string {
	refs := os.Getenv("DEEPSCOPE_TORCH_REFS")
	if refs == "" {
		refs = filepath.Join("..", ".cache", "torch")
	}
	return map[string]string{
		"squeezenet1_1": filepath.Join(refs, "squeezenet1_1", "model.onnx"),
		"tiny_darknet":  filepath.Join(sharedDir(b), "models", "tiny_darknet.onnx"),
	}
}

func BenchmarkNetworks(b *testing.B) {
	for _, name := range []string{"squeezenet1_1", "tiny_darknet"} {
		path := benchModel(b)[name]
		m, err := Load(path, Options{})
		if err != nil {
			b.Skipf("%s: %v", name, err)
		}
		x := NewTensor(m.Input().Shape...)
		for i := range x.Data {
			x.Data[i] = float32(i%251)/251 - 0.5
		}
		b.Run(name+"/forward", func(b *testing.B) {
			for b.Loop() {
				a, err := m.Run(x)
				if err != nil {
					b.Fatal(err)
				}
				a.Release()
			}
		})
		logits := m.Output()
		if op, ins, ok := m.Producer(logits); ok && op == "Softmax" {
			logits = ins[0]
		}
		l, _ := m.Layer(logits)
		seed := NewTensor(l.Shape...)
		seed.Data[0] = 1
		b.Run(name+"/forward+input-gradient", func(b *testing.B) {
			for b.Loop() {
				a, err := m.Run(x)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := m.Backward(a, map[string]*Tensor{logits: seed}, Vanilla, m.Input().Name); err != nil {
					b.Fatal(err)
				}
				a.Release()
			}
		})
	}
}
