package vis

import (
	"sync"
	"testing"
	"time"

	"github.com/deepscope/deepscope/model"
)

func TestZZProbe(t *testing.T) {
	m, err := model.Load("../../shared/models/tiny_darknet.onnx", model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := model.NewTensor(1, 3, 224, 224)
	for i := range x.Data {
		x.Data[i] = float32(i%251) / 251
	}
	for range 3 {
		a, _ := m.Run(x)
		a.Release()
	}
	n := 20
	t0 := time.Now()
	for range n {
		a, _ := m.Run(x)
		a.Release()
	}
	fw := time.Since(t0) / time.Duration(n)
	t.Logf("forward %v", fw)
	t0 = time.Now()
	for range n {
		a, _ := m.Run(x)
		_, err := m.Backward(a, map[string]*model.Tensor{"logits": model.NewTensor(1, 1000)}, model.Vanilla, "data")
		if err != nil {
			t.Fatal(err)
		}
		a.Release()
	}
	t.Logf("fwd+bwd %v", time.Since(t0)/time.Duration(n))
	t0 = time.Now()
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n / 2 {
				a, _ := m.Run(x)
				a.Release()
			}
		}()
	}
	wg.Wait()
	t.Logf("2 goroutines forward per pass %v", time.Since(t0)/time.Duration(n))
}
