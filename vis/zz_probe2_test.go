package vis

import (
	"testing"

	"github.com/deepscope/deepscope/model"
)

func BenchmarkZZBack(b *testing.B) {
	m, err := model.Load("../../shared/models/tiny_darknet.onnx", model.Options{})
	if err != nil {
		b.Fatal(err)
	}
	x := model.NewTensor(1, 3, 224, 224)
	a, _ := m.Run(x)
	seed := model.NewTensor(1, 1000)
	seed.Data[3] = 1
	for b.Loop() {
		_, err := m.Backward(a, map[string]*model.Tensor{"logits": seed}, model.Vanilla, "data")
		if err != nil {
			b.Fatal(err)
		}
	}
}
