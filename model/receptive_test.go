package model

import (
	"bytes"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
)

// Receptive fields are checked against brute force: perturb input pixels
// and see which positions of every layer change. A position's box must be
// exactly the hull of the pixels whose perturbation changes it.

// spatialLayers returns the model's N x C x H x W layers.
func spatialLayers(m *Model) []Layer {
	var out []Layer
	for _, l := range m.Layers {
		if len(l.Shape) == 4 && l.DType == Float32 {
			out = append(out, l)
		}
	}
	return out
}

// changes runs the model on base and on x and returns, per layer, which
// positions (y*W + x) changed in any channel.
func changes(t *testing.T, m *Model, layers []Layer, base *Activations, x *Tensor) [][]bool {
	t.Helper()
	a, err := m.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	out := make([][]bool, len(layers))
	for i, l := range layers {
		v0, _ := base.Get(l.Name)
		v1, _ := a.Get(l.Name)
		c, hw := l.Shape[1], l.Shape[2]*l.Shape[3]
		out[i] = make([]bool, hw)
		for ch := range c {
			for p := range hw {
				if v0.Data[ch*hw+p] != v1.Data[ch*hw+p] {
					out[i][p] = true
				}
			}
		}
	}
	return out
}

// perturbLine returns base with row (axis 0) or column (axis 1) k of every
// channel changed by ±amp (a random sign per pixel, flipped by sign).
func perturbLine(base *Tensor, axis, k int, amp float32, seed int64) *Tensor {
	x := base.Clone()
	r := rand.New(rand.NewSource(seed))
	c, h, w := x.Shape[1], x.Shape[2], x.Shape[3]
	for ch := range c {
		for i := range max(h, w) {
			y, xx := k, i
			if axis == 1 {
				y, xx = i, k
			}
			if y >= h || xx >= w {
				continue
			}
			d := amp
			if r.Intn(2) == 0 {
				d = -d
			}
			x.Data[(ch*h+y)*w+xx] += d
		}
	}
	return x
}

// bruteLines perturbs the given rows and columns (by ±amps, a random sign
// per pixel) and returns reach[axis][layer][k][pos]: whether perturbing line
// lines[axis][k] changed position pos of the layer.
func bruteLines(t *testing.T, m *Model, layers []Layer, x *Tensor, lines [2][]int, amps ...float32) [2][][][]bool {
	t.Helper()
	base, err := m.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	defer base.Release()
	var reach [2][][][]bool
	for axis := range 2 {
		reach[axis] = make([][][]bool, len(layers))
		for li := range layers {
			reach[axis][li] = make([][]bool, len(lines[axis]))
		}
		for k, line := range lines[axis] {
			for s, amp := range amps {
				ch := changes(t, m, layers, base, perturbLine(x, axis, line, amp, int64(1000*axis+line)))
				for li := range layers {
					if s == 0 {
						reach[axis][li][k] = ch[li]
						continue
					}
					for p, v := range ch[li] {
						reach[axis][li][k][p] = reach[axis][li][k][p] || v
					}
				}
			}
		}
	}
	return reach
}

func allLines(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// checkLines compares every position's box with the brute-force reach of
// the perturbed lines: a line is inside the box iff it changes the
// position. With every line perturbed (full) this is exactly "the box is
// the hull"; with a subset it also needs the dependency set to have no
// holes (no dilation), which holds for the models it is used on.
func checkLines(t *testing.T, m *Model, layers []Layer, lines [2][]int, reach [2][][][]bool, full bool, sample func(n, i int) bool) {
	t.Helper()
	bad := 0
	for li, l := range layers {
		h, w := l.Shape[2], l.Shape[3]
		for y := range h {
			for x := range w {
				if sample != nil && !(sample(h, y) && sample(w, x)) {
					continue
				}
				rf, err := m.ReceptiveField(l.Name, y, x)
				if err != nil {
					t.Fatal(err)
				}
				if !rf.Box.Empty() && (rf.Box.Intersect(rf.Nominal) != rf.Box) {
					t.Errorf("%s (%d,%d): box %v not inside nominal %v", l.Name, y, x, rf.Box, rf.Nominal)
				}
				for axis := range 2 {
					lo, hi := rf.Box.Y0, rf.Box.Y1
					if axis == 1 {
						lo, hi = rf.Box.X0, rf.Box.X1
					}
					got := [2]int{1 << 30, -1}
					for k, line := range lines[axis] {
						changed := reach[axis][li][k][y*w+x]
						if changed {
							got = [2]int{min(got[0], line), max(got[1], line)}
						}
						if !full && changed != (line >= lo && line < hi) {
							if bad++; bad <= 10 {
								t.Errorf("%s (%d,%d): box %v, but perturbing line %d of axis %d changes it: %v", l.Name, y, x, rf.Box, line, axis, changed)
							}
						}
					}
					if full && got[1] >= 0 && (got[0] != lo || got[1] != hi-1) {
						if bad++; bad <= 10 {
							t.Errorf("%s (%d,%d): box %v, brute force %d..%d along axis %d", l.Name, y, x, rf.Box, got[0], got[1], axis)
						}
					}
					if full && got[1] < 0 && !rf.Box.Empty() {
						if bad++; bad <= 10 {
							t.Errorf("%s (%d,%d): box %v, but no pixel changes it", l.Name, y, x, rf.Box)
						}
					}
				}
			}
		}
	}
	if bad > 10 {
		t.Errorf("%d mismatches in all", bad)
	}
}

func TestReceptiveFieldSqueezenet(t *testing.T) {
	m, err := Load(filepath.Join("..", "testdata", "torch", "squeezenet1_1", "model.onnx"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := m.Input().Shape
	x := randTensor(rand.New(rand.NewSource(1)), in...)
	var layers []Layer // Relu outputs have their input's fields: skip them
	for _, l := range spatialLayers(m) {
		if l.Op != "Relu" {
			layers = append(layers, l)
		}
	}
	lines := [2][]int{allLines(in[2]), allLines(in[3])}
	reach := bruteLines(t, m, layers, x, lines, 40)
	checkLines(t, m, layers, lines, reach, true, nil)

	// Hand-computed: features.0 is a 3x3 stride-2 conv without padding;
	// the first max pool (3x3, stride 2, ceil mode) doubles the stride.
	rf, _ := m.ReceptiveField("/features/features.0/Conv_output_0", 5, 7)
	if want := (Box{10, 14, 13, 17}); rf.Box != want || rf.Nominal != want {
		t.Errorf("conv0 (5,7): %+v, want box and nominal %v", rf, want)
	}
	rf, _ = m.ReceptiveField("/features/features.2/MaxPool_output_0", 15, 0)
	// Pool output 15 reads conv rows 30..32 = input rows 60..66; the
	// nominal window is the same (the ceil-mode window ends inside).
	if want := (Box{60, 0, 67, 7}); rf.Box != want || rf.Nominal != want {
		t.Errorf("pool (15,0): %+v, want %v", rf, want)
	}
}

func TestReceptiveFieldTinyDarknet(t *testing.T) {
	path := filepath.Join(sharedDir(t), "models", "tiny_darknet.onnx")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s not found", path)
	}
	m, err := Load(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var layers []Layer
	for _, l := range spatialLayers(m) {
		if l.Op == "Conv" || l.Op == "MaxPool" {
			layers = append(layers, l)
		}
	}
	x := randTensor(rand.New(rand.NewSource(2)), m.Input().Shape...)
	// Lines at both borders and around the middle, where pooling windows
	// split: enough to pin down every edge of every box near them.
	lines := [2][]int{{0, 1, 2, 66, 111, 112, 223}, {0, 6, 15, 16, 119, 208}}
	reach := bruteLines(t, m, layers, x, lines, 40)
	// Every position of the layers at 56x56 and below; on the large ones
	// the borders and every 7th row and column.
	sample := func(n, i int) bool { return n <= 56 || i < 3 || i >= n-3 || i%7 == 0 }
	checkLines(t, m, layers, lines, reach, false, sample)
	// 3x3 convs (pad 1) and 2x2 pools: conv16 (stride 16) sees 134 x 134
	// pixels, rows 16y-59 .. 16y+74.
	rf, err := m.ReceptiveField("conv16", 7, 7)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Box{53, 53, 187, 187}); rf.Nominal != want || rf.Box != want {
		t.Errorf("conv16 (7,7): %+v, want %v", rf, want)
	}
}

// dilatedModel is a small graph with the geometry receptive fields must
// get right: dilation (holes in the dependency set), stride > 1 with
// padding larger than it, reflect padding, a ceil-mode max pool, a
// channel concat of two branches with different windows, a spatial concat
// and a broadcast multiply by a global pool.
func dilatedModel(t *testing.T) *Model {
	t.Helper()
	r := rand.New(rand.NewSource(3))
	b := NewGraphBuilder("dilated")
	x := b.Input("x", Float32, 1, 2, 19, 17)
	w := func(name string, shape ...int) string { return b.Initializer(name, randTensor(r, shape...)) }
	c1 := b.Node("Conv", "c1", Attrs{"dilations": []int{2, 3}, "pads": []int{1, 2, 1, 2}}, x, w("w1", 3, 2, 3, 3))
	a1 := b.Node("LeakyRelu", "a1", Attrs{"alpha": float32(0.3)}, c1)
	p1 := b.Node("Pad", "p1", Attrs{"mode": "reflect"}, a1, b.Initializer("pads", FromInts([]int64{0, 0, 2, 1, 0, 0, 0, 3}, 8)))
	c2 := b.Node("Conv", "c2", Attrs{"strides": []int{2, 2}, "pads": []int{3, 3, 3, 3}, "dilations": []int{2, 1}}, p1, w("w2", 4, 3, 3, 2))
	c3 := b.Node("Conv", "c3", Attrs{"pads": []int{0, 1, 0, 1}}, p1, w("w3", 2, 3, 1, 3))
	mp := b.Node("MaxPool", "mp", Attrs{"kernel_shape": []int{2, 2}, "strides": []int{2, 2}, "ceil_mode": int64(1)}, c3)
	cat := b.Node("Concat", "cat", Attrs{"axis": int64(3)}, c2, c2)
	g := b.Node("GlobalAveragePool", "gap", nil, mp)
	sig := b.Node("Sigmoid", "sig", nil, g)
	c4 := b.Node("Conv", "c4", Attrs{"dilations": []int{1, 2}, "pads": []int{0, 0, 0, 0}}, cat, w("w4", 2, 4, 2, 2))
	out := b.Node("Mul", "out", nil, c4, sig)
	b.Output(out, Float32, -1, -1, -1, -1)
	return buildModel(t, b)
}

func TestReceptiveFieldDilated(t *testing.T) {
	m := dilatedModel(t)
	layers := spatialLayers(m)
	x := randTensor(rand.New(rand.NewSource(4)), m.Input().Shape...)
	base, err := m.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	defer base.Release()
	in := m.Input().Shape
	H, W := in[2], in[3]
	// reach[layer][pos] = hull of the pixels whose perturbation changes it.
	type hullT struct{ y0, x0, y1, x1 int }
	hulls := make([][]hullT, len(layers))
	for li, l := range layers {
		hulls[li] = make([]hullT, l.Shape[2]*l.Shape[3])
		for p := range hulls[li] {
			hulls[li][p] = hullT{1 << 30, 1 << 30, -1, -1}
		}
	}
	for py := range H {
		for px := range W {
			for _, amp := range []float32{25, -25} {
				xp := x.Clone()
				for ch := range in[1] {
					xp.Data[(ch*H+py)*W+px] += amp
				}
				ch := changes(t, m, layers, base, xp)
				for li := range layers {
					for p, v := range ch[li] {
						if v {
							h := &hulls[li][p]
							h.y0, h.x0, h.y1, h.x1 = min(h.y0, py), min(h.x0, px), max(h.y1, py), max(h.x1, px)
						}
					}
				}
			}
		}
	}
	holes := false
	for li, l := range layers {
		w := l.Shape[3]
		for p, h := range hulls[li] {
			y, x := p/w, p%w
			rf, err := m.ReceptiveField(l.Name, y, x)
			if err != nil {
				t.Fatal(err)
			}
			want := Box{}
			if h.y1 >= 0 {
				want = Box{h.y0, h.x0, h.y1 + 1, h.x1 + 1}
			}
			if rf.Box != want {
				t.Errorf("%s (%d,%d): box %v, brute force %v", l.Name, y, x, rf.Box, want)
			}
			// (Reflect padding reads mirrored pixels: the box may leave
			// the nominal window here.)
			if rf.Box != rf.Nominal.Intersect(Box{0, 0, H, W}) {
				holes = true
			}
		}
	}
	if !holes {
		t.Errorf("no position's box differs from its clipped nominal window: the model does not exercise dilation and padding")
	}
	// c1 (dilation 2x3, pads 1x2): position (0, 0) reads rows -1, 1, 3 and
	// columns -2, 1, 4: box rows 1..3, cols 1..4; nominal -1..3 x -2..4.
	rf, _ := m.ReceptiveField("c1", 0, 0)
	if want := (ReceptiveField{Box{1, 1, 4, 5}, Box{-1, -2, 4, 5}}); rf != want {
		t.Errorf("c1 (0,0): %+v, want %+v", rf, want)
	}
	// The output multiplies by a global pool: it depends on the whole input.
	rf, _ = m.ReceptiveField("out", 0, 0)
	if want := (Box{0, 0, H, W}); rf.Box != want {
		t.Errorf("out (0,0): box %v, want the whole input %v", rf.Box, want)
	}
}

func TestReceptiveFieldErrors(t *testing.T) {
	m := dilatedModel(t)
	for _, c := range []struct {
		layer string
		pos   []int
	}{{"nope", []int{0, 0}}, {"c1", []int{0}}, {"c1", []int{-1, 0}}, {"c1", []int{0, 99}}} {
		if _, err := m.ReceptiveField(c.layer, c.pos...); err == nil {
			t.Errorf("ReceptiveField(%q, %v): no error", c.layer, c.pos)
		}
	}
	rf, err := m.ReceptiveField("x", 3, 4)
	if err != nil || rf.Box != (Box{3, 4, 4, 5}) || rf.Nominal != rf.Box {
		t.Errorf("input pixel (3,4): %+v, %v", rf, err)
	}
}

// buildModel writes the builder's graph with our ONNX writer and loads it.
func buildModel(t *testing.T, b *GraphBuilder) *Model {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteONNX(&buf, b.Graph()); err != nil {
		t.Fatal(err)
	}
	m, err := Decode(buf.Bytes(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
