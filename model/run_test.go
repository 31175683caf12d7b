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

// A batch of N images gives each image's single-image result, even for a
// model that declares batch 1.
func TestBatchedRunMatchesSingles(t *testing.T) {
	m, err := Load(filepath.Join("..", "testdata", "torch", "squeezenet1_1", "model.onnx"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := m.Input().Shape
	x := NewTensor(append([]int{2}, in[1:]...)...)
	half := len(x.Data) / 2
	for i := range x.Data {
		x.Data[i] = float32(i%97)/97 - 0.5
		if i >= half {
			x.Data[i] = float32(i%89)/89 - 0.4
		}
	}
	ab, err := m.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	defer ab.Release()
	yb, _ := ab.Get(m.Output())
	per := len(yb.Data) / 2
	for b := 0; b < 2; b++ {
		xs := FromData(x.Data[b*half:(b+1)*half], in...)
		a, err := m.Run(xs)
		if err != nil {
			t.Fatal(err)
		}
		y, _ := a.Get(m.Output())
		assertClose(t, FromData(yb.Data[b*per:(b+1)*per], y.Shape...), y.Data, 1e-5)
		a.Release()
	}
}
