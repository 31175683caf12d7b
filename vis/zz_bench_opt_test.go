package vis

import (
	"math/rand/v2"
	"testing"
)

func BenchmarkFourier224(b *testing.B) {
	p := newFourierParam(1, 3, 224, 224, 1, true, false)
	px := make([]float32, 3*224*224)
	gv := make([]float32, len(p.v))
	for b.Loop() {
		p.render(px)
		p.backprop(px, gv)
	}
}
func BenchmarkWarp224(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	tf := Transforms{Jitter: 12, ScaleMin: 0.9, ScaleMax: 1.1, Rotate: 10}
	x := make([]float32, 224*224)
	y := make([]float32, 224*224)
	for b.Loop() {
		w := tf.draw(rng, 224, 224, nil)
		for range 3 {
			w.apply(y, x, 0.5)
			w.adjoint(x, y)
		}
	}
}
func BenchmarkAdam(b *testing.B) {
	o, _ := newOptimizer("adam", 0.05, 3*224*113*2)
	v := make([]float32, 3*224*113*2)
	for b.Loop() {
		o.step(v, v)
	}
}
