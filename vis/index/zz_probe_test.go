package index

import (
	"testing"
	"time"

	"github.com/deepscope/deepscope/model"
)

func TestProbeCost(t *testing.T) {
	m, err := model.Load("../../../shared/models/tiny_darknet.onnx", model.Options{})
	if err != nil {
		t.Skip(err)
	}
	x := model.NewTensor(1, 3, 224, 224)
	for i := range x.Data {
		x.Data[i] = float32(i%251) / 251
	}
	for i := 0; i < 2; i++ {
		a, _ := m.Run(x)
		a.Release()
	}
	st := time.Now()
	for i := 0; i < 10; i++ {
		a, _ := m.Run(x)
		a.Release()
	}
	fwd := time.Since(st) / 10
	t.Logf("forward %v", fwd)
	a, _ := m.Run(x)
	defer a.Release()
	for _, l := range []string{"conv1", "conv2", "conv4", "conv6", "conv8", "conv10", "conv12", "conv14", "conv16"} {
		v, _ := a.Get(l)
		seed := model.NewTensor(v.Shape...)
		seed.Data[len(seed.Data)/2+7] = 1
		st := time.Now()
		for i := 0; i < 3; i++ {
			if _, err := m.Backward(a, map[string]*model.Tensor{l: seed}, model.Deconvnet, "data"); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%s backward %v (%.2fx fwd)", l, time.Since(st)/3, float64(time.Since(st)/3)/float64(fwd))
	}
}
