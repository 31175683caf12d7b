package model

import (
	"bytes"
	"errors"
	"math"
	"math/rand"
	"path/filepath"
	"testing"
)

// patchedBoxes are patches at the corners, edges and centre of an h x w
// input, of side p.
func patchedBoxes(h, w, p int) []Box {
	var boxes []Box
	for _, y := range []int{0, (h - p) / 2, h - p} {
		for _, x := range []int{0, (w - p) / 2, w - p} {
			boxes = append(boxes, Box{y, x, y + p, x + p})
		}
	}
	// Off the stride grid, thin, and a single pixel.
	return append(boxes, Box{3, 5, 3 + p/2, 6}, Box{h / 3, w / 5, h/3 + 1, w/5 + 1})
}

// occlude returns a copy of x with box set to fill (every channel).
func occlude(x *Tensor, box Box, fill float32) *Tensor {
	y := x.Clone()
	h, w := x.Shape[2], x.Shape[3]
	for pl := range x.Shape[0] * x.Shape[1] {
		for r := box.Y0; r < box.Y1; r++ {
			for c := box.X0; c < box.X1; c++ {
				y.Data[(pl*h+r)*w+c] = fill
			}
		}
	}
	return y
}

// checkPatched compares RunPatched against a full Run for every layer,
// each within tol relative to the layer's largest magnitude.
func checkPatched(t *testing.T, m *Model, x *Tensor, boxes []Box, tol float64) {
	t.Helper()
	base := cleanRun(t, m, x)
	pt, err := m.NewPatcher(base)
	if err != nil {
		t.Fatal(err)
	}
	for i, box := range boxes {
		xp := occlude(x, box, float32(i%3)-1)
		want, err := m.Run(xp)
		if err != nil {
			t.Fatal(err)
		}
		pt.s.reset()
		got, run, err := m.runPatched(base, pt.s, xp, box, nil)
		if err != nil {
			t.Fatalf("%v: %v", box, err)
		}
		t.Logf("%v: %d nodes over a window, %d in full", box, run.nWindowed, run.nFull)
		changed := 0
		for _, l := range m.Layers {
			if l.DType != Float32 {
				continue
			}
			wv, _ := want.Get(l.Name)
			gv, err := got.Get(l.Name)
			if err != nil {
				t.Fatalf("%v: layer %s: %v", box, l.Name, err)
			}
			if !SameShape(wv.Shape, gv.Shape) {
				t.Fatalf("%v: layer %s has shape %v, want %v", box, l.Name, gv.Shape, wv.Shape)
			}
			b, _ := base.Get(l.Name)
			scale, diff, moved := 0.0, 0.0, false
			for j, v := range wv.Data {
				scale = max(scale, math.Abs(float64(v)))
				diff = max(diff, math.Abs(float64(v-gv.Data[j])))
				moved = moved || v != b.Data[j]
			}
			if moved {
				changed++
			}
			if diff > tol*max(scale, 1e-6) || math.IsNaN(diff) {
				t.Errorf("%v: layer %s (%s): max abs diff %g vs full run (scale %g)", box, l.Name, l.Op, diff, scale)
			}
		}
		if changed == 0 {
			t.Errorf("%v: no layer changed: the patch tests nothing", box)
		}
		got.Release()
		want.Release()
	}
}

// patchModel exercises the windowed ops' geometry: asymmetric and SAME
// padding, strides, dilations, depthwise groups, ceil-mode and padded
// pooling with and without counting the padding, pointwise ops with
// per-channel and map operands, channel concatenation, and ops that fall
// back to full computation (Pad, GlobalAveragePool, Flatten, Gemm).
func patchModel(t *testing.T) *Model {
	t.Helper()
	r := rand.New(rand.NewSource(7))
	b := NewGraphBuilder("patch")
	x := b.Input("x", Float32, 1, 3, 37, 41)
	w := func(name string, shape ...int) string { return b.Initializer(name, randTensor(r, shape...)) }
	c1 := b.Node("Conv", "c1", Attrs{"pads": []int{1, 2, 0, 1}, "strides": []int{1, 2}}, x, w("w1", 6, 3, 3, 4), w("b1", 6))
	bn := b.Node("BatchNormalization", "bn", nil, c1, w("s", 6), w("bb", 6), w("mu", 6), b.Initializer("var", FromData([]float32{1, 2, 0.5, 1, 3, 1}, 6)))
	a1 := b.Node("LeakyRelu", "a1", Attrs{"alpha": float32(0.1)}, bn)
	c2 := b.Node("Conv", "c2", Attrs{"auto_pad": "SAME_UPPER", "strides": []int{2, 2}}, a1, w("w2", 6, 6, 4, 3))
	dw := b.Node("Conv", "dw", Attrs{"group": int64(6), "pads": []int{2, 2, 2, 2}, "dilations": []int{2, 2}}, c2, w("wd", 6, 1, 3, 3))
	add := b.Node("Add", "add", nil, dw, c2)
	mul := b.Node("Mul", "mul", nil, add, w("cm", 1, 6, 1, 1))
	pr := b.Node("PRelu", "pr", nil, mul, w("slope", 6, 1, 1))
	mp := b.Node("MaxPool", "mp", Attrs{"kernel_shape": []int{3, 3}, "strides": []int{2, 2}, "pads": []int{1, 0, 1, 1}, "ceil_mode": int64(1)}, pr)
	ap := b.Node("AveragePool", "ap", Attrs{"kernel_shape": []int{3, 2}, "strides": []int{1, 2}, "pads": []int{1, 1, 1, 1}, "count_include_pad": int64(1), "ceil_mode": int64(1)}, pr)
	ap0 := b.Node("AveragePool", "ap0", Attrs{"kernel_shape": []int{2, 3}, "pads": []int{1, 1, 0, 1}}, ap)
	lrn := b.Node("LRN", "lrn", Attrs{"size": int64(3)}, ap0)
	c3 := b.Node("Conv", "c3", Attrs{"kernel_shape": []int{1, 1}}, mp, w("w3", 4, 6, 1, 1))
	cat := b.Node("Concat", "cat", Attrs{"axis": int64(1)}, c3, mp)
	sig := b.Node("Sigmoid", "sig", nil, cat)
	cl := b.Node("Clip", "clip", nil, lrn, b.Initializer("lo", FromData([]float32{-0.5})), b.Initializer("hi", FromData([]float32{0.5})))
	pad := b.Node("Pad", "pad", Attrs{"mode": "reflect"}, sig, b.Initializer("pads", FromInts([]int64{0, 0, 1, 1, 0, 0, 1, 1}, 8)))
	c4 := b.Node("Conv", "c4", Attrs{"pads": []int{1, 1, 1, 1}}, pad, w("w4", 5, 10, 3, 3))
	gap := b.Node("GlobalAveragePool", "gap", nil, c4)
	gap2 := b.Node("GlobalAveragePool", "gap2", nil, cl)
	scaled := b.Node("Mul", "scaled", nil, cl, gap2)
	gap3 := b.Node("GlobalAveragePool", "gap3", nil, scaled)
	both := b.Node("Concat", "both", Attrs{"axis": int64(1)}, gap, gap3)
	flat := b.Node("Flatten", "flat", nil, both)
	out := b.Node("Gemm", "logits", Attrs{"transB": int64(1)}, flat, w("wg", 4, 11), w("bg", 4))
	b.Output(out, Float32, 1, 4)
	return buildModel(t, b)
}

func TestRunPatchedOps(t *testing.T) {
	m := patchModel(t)
	x := randTensor(rand.New(rand.NewSource(1)), m.Input().Shape...)
	checkPatched(t, m, x, patchedBoxes(37, 41, 9), 1e-5)
}

func TestRunPatchedSqueezenet(t *testing.T) {
	m, err := Load(filepath.Join("..", "testdata", "torch", "squeezenet1_1", "model.onnx"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := m.Input().Shape
	x := randTensor(rand.New(rand.NewSource(2)), in...)
	checkPatched(t, m, x, patchedBoxes(in[2], in[3], 12), 1e-5)
}

func TestRunPatchedTinyDarknet(t *testing.T) {
	if testing.Short() {
		t.Skip("tiny darknet at 224x224 in -short mode")
	}
	m, err := Load(filepath.Join(sharedDir(t), "models", "tiny_darknet.onnx"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := m.Input().Shape
	x := randTensor(rand.New(rand.NewSource(3)), in...)
	boxes := []Box{{0, 0, 32, 32}, {96, 192, 128, 224}, {100, 60, 132, 92}}
	checkPatched(t, m, x, boxes, 1e-5)
}

func TestRunPatchedWant(t *testing.T) {
	m := patchModel(t)
	x := randTensor(rand.New(rand.NewSource(5)), m.Input().Shape...)
	base := cleanRun(t, m, x)
	box := Box{10, 12, 18, 20}
	xp := occlude(x, box, 0)
	want, err := m.Run(xp)
	if err != nil {
		t.Fatal(err)
	}
	defer want.Release()
	got, err := m.RunPatched(base, xp, box, "logits")
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	g, err := got.Get("logits")
	if err != nil {
		t.Fatal(err)
	}
	wv, _ := want.Get("logits")
	b, _ := base.Get("logits")
	assertClose(t, g, wv.Data, 1e-5)
	if g.Data[0] == b.Data[0] {
		t.Errorf("logits did not change: %v", g.Data)
	}
	if _, err := got.Get("c2"); err == nil {
		t.Errorf("layer c2 was not asked for but has a value")
	}
	if in, err := got.Get("x"); err != nil || in != xp {
		t.Errorf("input: %v, %v", in, err)
	}
}

func TestRunPatchedErrors(t *testing.T) {
	m := patchModel(t)
	x := randTensor(rand.New(rand.NewSource(6)), m.Input().Shape...)
	base := cleanRun(t, m, x)
	xp := occlude(x, Box{10, 10, 20, 20}, 0)
	if _, err := m.RunPatched(base, xp, Box{10, 10, 20, 19}); err == nil {
		t.Error("a change outside the box went unnoticed")
	}
	if _, err := m.RunPatched(base, xp, Box{10, 10, 20, 20}, "nosuch"); err == nil {
		t.Error("unknown wanted layer accepted")
	}
	if _, err := m.RunPatched(nil, xp, Box{}); err == nil {
		t.Error("nil base accepted")
	}
	if _, err := patchModel(t).RunPatched(base, xp, Box{10, 10, 20, 20}); err == nil {
		t.Error("another model's base accepted")
	}
	// NaNs outside the box are equal to themselves.
	nan := x.Clone()
	nan.Data[0] = float32(math.NaN())
	nb, err := m.Run(nan)
	if err != nil {
		t.Fatal(err)
	}
	if a, err := m.RunPatched(nb, occlude(nan, Box{10, 10, 20, 20}, 0), Box{10, 10, 20, 20}, "c1"); err != nil {
		t.Errorf("NaN outside the box: %v", err)
	} else {
		a.Release()
	}
	nb.Release()
	if _, err := m.RunPatched(base, NewTensor(1, 3, 5, 5), Box{}); err == nil {
		t.Error("input of another size accepted")
	}
	// An empty box: nothing changes.
	a, err := m.RunPatched(base, x, Box{})
	if err != nil {
		t.Fatal(err)
	}
	g, _ := a.Get("logits")
	b, _ := base.Get("logits")
	assertClose(t, g, b.Data, 0)
	a.Release()

	// A model whose input is not a 4-d map.
	gb := NewGraphBuilder("flat")
	in := gb.Input("v", Float32, 1, 8)
	gb.Output(gb.Node("Relu", "r", nil, in), Float32, 1, 8)
	var buf bytes.Buffer
	if err := WriteONNX(&buf, gb.Graph()); err != nil {
		t.Fatal(err)
	}
	flat, err := Decode(buf.Bytes(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	v := NewTensor(1, 8)
	fb, err := flat.Run(v)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := flat.RunPatched(fb, v, Box{}); !errors.Is(err, ErrNotPatchable) {
		t.Errorf("flat input: got %v, want ErrNotPatchable", err)
	}
}

// A Patcher's passes reuse its buffers: each result is valid until the
// next, which must still be right.
func TestPatcherReuse(t *testing.T) {
	m := patchModel(t)
	x := randTensor(rand.New(rand.NewSource(8)), m.Input().Shape...)
	base := cleanRun(t, m, x)
	pt, err := m.NewPatcher(base)
	if err != nil {
		t.Fatal(err)
	}
	var prev *Activations
	for i, box := range []Box{{0, 0, 9, 9}, {20, 25, 29, 34}, {0, 0, 9, 9}, {5, 30, 37, 41}} {
		xp := occlude(x, box, 0.5)
		got, err := pt.Run(xp, box, "logits", "c2")
		if err != nil {
			t.Fatal(err)
		}
		if prev != nil {
			if _, err := prev.Get("logits"); err == nil {
				t.Errorf("pass %d: the previous pass's result is still readable", i)
			}
		}
		prev = got
		want, err := m.Run(xp)
		if err != nil {
			t.Fatal(err)
		}
		for _, layer := range []string{"logits", "c2"} {
			g, err := got.Get(layer)
			if err != nil {
				t.Fatal(err)
			}
			w, _ := want.Get(layer)
			assertClose(t, g, w.Data, 1e-5)
		}
		want.Release()
	}
}

// cleanRun runs x through m, released when the test ends.
func cleanRun(t *testing.T, m *Model, x *Tensor) *Activations {
	t.Helper()
	a, err := m.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Release)
	return a
}
