package model

import (
	"path/filepath"
	"runtime"
	"testing"
)

// A steady stream reuses the pooled buffers: after warm-up, a forward pass
// plus a backward pass allocate only small headers, a few percent of the
// activation memory they compute.
func TestSteadyStreamReusesBuffers(t *testing.T) {
	if raceEnabled() {
		t.Skip("the race detector makes sync.Pool drop items at random")
	}
	m, err := Load(filepath.Join("..", "testdata", "torch", "squeezenet1_1", "model.onnx"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := NewTensor(m.Input().Shape...)
	var actBytes int
	for _, l := range m.Layers {
		actBytes += 4 * NumElements(l.Shape)
	}
	logits := m.Output()
	l, _ := m.Layer(logits)
	seed := NewTensor(l.Shape...)
	seed.Data[3] = 1
	frame := func() {
		a, err := m.Run(x)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Backward(a, map[string]*Tensor{logits: seed}, Guided, m.Input().Name); err != nil {
			t.Fatal(err)
		}
		a.Release()
	}
	for i := 0; i < 3; i++ {
		frame()
	}
	const frames = 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < frames; i++ {
		frame()
	}
	runtime.ReadMemStats(&after)
	perFrame := int(after.TotalAlloc-before.TotalAlloc) / frames
	t.Logf("%d bytes allocated per frame; activations hold %d bytes", perFrame, actBytes)
	// Not reusing buffers would allocate at least actBytes (forward) plus
	// the gradients.
	if perFrame > actBytes/10 {
		t.Errorf("a steady stream allocates %d bytes per frame, more than 10%% of the %d bytes of activations", perFrame, actBytes)
	}
}
