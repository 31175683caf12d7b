package model

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	onnx "github.com/owulveryck/onnx-go"
)

// writtenNet is x[N,1,4,4] -> Conv(2 filters 3x3, pad 1) -> Relu ->
// MaxPool(2x2, stride 2) -> Reshape([1,-1], an int64 initializer) ->
// Gemm(transB, alpha 0.5, beta 2). Filter 0 is the identity (centre tap 1,
// bias -5); filter 1 takes the top-left tap, x[i-1][j-1] (bias 1), so a
// flipped or transposed weight layout changes the result.
func writtenNet() *Graph {
	b := NewGraphBuilder("written")
	x := b.Input("x", Float32, -1, 1, 4, 4)
	w := NewTensor(2, 1, 3, 3)
	w.Data[4] = 1   // filter 0, centre
	w.Data[9+0] = 1 // filter 1, top-left
	fc := NewTensor(3, 8)
	fc.Data[0] = 1 // row 0 picks element 0
	for i := 0; i < 8; i++ {
		fc.Data[8+i] = 1 // row 1 sums
	}
	fc.Data[16], fc.Data[23] = -1, 1 // row 2: element 7 - element 0
	c := b.Node("Conv", "conv", Attrs{"pads": []int{1, 1, 1, 1}, "kernel_shape": []int64{3, 3}},
		x, b.Initializer("w", w), b.Initializer("b", FromData([]float32{-5, 1}, 2)))
	r := b.Node("Relu", "relu", nil, c)
	p := b.Node("MaxPool", "pool", Attrs{"kernel_shape": []int{2, 2}, "strides": []int{2, 2}, "auto_pad": "NOTSET"}, r)
	f := b.Node("Reshape", "flat", nil, p, b.Initializer("shape", FromInts([]int64{1, -1}, 2)))
	y := b.Node("Gemm", "fc", Attrs{"transB": 1, "alpha": float32(0.5), "beta": 2.0},
		f, b.Initializer("fc.w", fc), b.Initializer("fc.b", FromData([]float32{1, -1, 0.25}, 3)))
	b.Output(y, Float32, -1, 3)
	return b.Graph()
}

func TestWriteONNXRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteONNX(&buf, writtenNet()); err != nil {
		t.Fatal(err)
	}
	m, err := Decode(buf.Bytes(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Opset != DefaultWriteOpset {
		t.Errorf("opset %d, want %d", m.Opset, DefaultWriteOpset)
	}
	// The symbolic batch dimension loads as 1.
	if in := m.Input(); in.Name != "x" || !SameShape(in.Shape, []int{1, 1, 4, 4}) {
		t.Errorf("input %s %v", in.Name, in.Shape)
	}
	wantLayers := []struct {
		name, op string
		shape    []int
	}{
		{"conv", "Conv", []int{1, 2, 4, 4}}, {"relu", "Relu", []int{1, 2, 4, 4}},
		{"pool", "MaxPool", []int{1, 2, 2, 2}}, {"flat", "Reshape", []int{1, 8}}, {"fc", "Gemm", []int{1, 3}},
	}
	if len(m.Layers) != len(wantLayers) {
		t.Fatalf("%d layers, want %d", len(m.Layers), len(wantLayers))
	}
	for i, w := range wantLayers {
		if l := m.Layers[i]; l.Name != w.name || l.Op != w.op || !SameShape(l.Shape, w.shape) {
			t.Errorf("layer %d = %s %s %v, want %s %s %v", i, l.Name, l.Op, l.Shape, w.name, w.op, w.shape)
		}
	}
	if m.Output() != "fc" {
		t.Errorf("output %q", m.Output())
	}

	x := NewTensor(1, 1, 4, 4)
	for i := range x.Data {
		x.Data[i] = float32(i + 1) // x[i][j] = 4i + j + 1
	}
	a, err := m.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	// relu(x-5) pooled: [1 3; 9 11]. x shifted down-right plus 1, pooled:
	// [2 4; 10 12].
	flat, _ := a.Get("flat")
	assertClose(t, flat, []float32{1, 3, 9, 11, 2, 4, 10, 12}, 0)
	// 0.5 * [1, 52, 12-1] + 2 * [1, -1, 0.25].
	y, _ := a.Get("fc")
	assertClose(t, y, []float32{2.5, 24, 6}, 1e-6)
}

func TestWriteONNXAttributes(t *testing.T) {
	attrs := Attrs{
		"f": float32(1.5), "f64": 0.25, "i": 7, "i64": int64(-3), "s": "same_upper",
		"fs": []float32{1, -2.5}, "f64s": []float64{0.5}, "is": []int{1, -2, 3}, "i64s": []int64{4},
		"ss": []string{"a", "bc"}, "t": FromData([]float32{1, 2, 3, 4}, 2, 2), "ti": FromInts([]int64{5, -6}, 2),
	}
	g := &Graph{
		Inputs:  []ValueInfo{{Name: "x", DType: Float32, Shape: []int{2}}},
		Nodes:   []GraphNode{{Name: "n", Op: "Anything", Inputs: []string{"x"}, Outputs: []string{"y"}, Attrs: attrs}},
		Outputs: []ValueInfo{{Name: "y", DType: Float32}},
	}
	data, err := g.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// Attributes reach the kernels through onnx-go's decoder and
	// convertAttrs; check what they see.
	scan, err := scanModel(data)
	if err != nil {
		t.Fatal(err)
	}
	b := newBackend()
	if err := onnx.NewModel(b).UnmarshalBinary(scan.slim); err != nil {
		t.Fatal(err)
	}
	if len(b.ops) != 1 {
		t.Fatalf("%d ops decoded", len(b.ops))
	}
	got, err := convertAttrs(b.ops[0].op.Attributes)
	if err != nil {
		t.Fatal(err)
	}
	if v := got.Float("f", 0); v != 1.5 {
		t.Errorf("f = %v", v)
	}
	if v := got.Float("f64", 0); v != 0.25 {
		t.Errorf("f64 = %v", v)
	}
	if v := got.Int("i", 0); v != 7 {
		t.Errorf("i = %v", v)
	}
	if v := got.Int("i64", 0); v != -3 {
		t.Errorf("i64 = %v", v)
	}
	if v := got.String("s", ""); v != "same_upper" {
		t.Errorf("s = %q", v)
	}
	if v := got.Floats("fs", nil); len(v) != 2 || v[0] != 1 || v[1] != -2.5 {
		t.Errorf("fs = %v", v)
	}
	if v := got.Floats("f64s", nil); len(v) != 1 || v[0] != 0.5 {
		t.Errorf("f64s = %v", v)
	}
	if v := got.Ints("is", nil); len(v) != 3 || v[0] != 1 || v[1] != -2 || v[2] != 3 {
		t.Errorf("is = %v", v)
	}
	if v := got.Ints("i64s", nil); len(v) != 1 || v[0] != 4 {
		t.Errorf("i64s = %v", v)
	}
	if tt := got.Tensor("t"); tt == nil || !SameShape(tt.Shape, []int{2, 2}) {
		t.Errorf("t = %v", tt)
	} else {
		assertClose(t, tt, []float32{1, 2, 3, 4}, 0)
	}
	if tt := got.Tensor("ti"); tt == nil || tt.DType != Int64 || len(tt.Ints) != 2 || tt.Ints[0] != 5 || tt.Ints[1] != -6 {
		t.Errorf("ti = %v", tt)
	}
	// STRINGS: Attrs has no accessor; onnx-go hands them over as []string.
	if ss, ok := got["ss"].([]string); !ok || len(ss) != 2 || ss[0] != "a" || ss[1] != "bc" {
		t.Errorf("ss = %#v", got["ss"])
	}

	// What protoscan reads: names, op, the shape of the typed input.
	if len(scan.graph.inputs) != 1 || !scan.graph.inputs[0].typed || len(scan.graph.inputs[0].dims) != 1 ||
		scan.graph.inputs[0].dims[0] != 2 || scan.graph.inputs[0].elem != onnxFloat {
		t.Errorf("input = %+v", scan.graph.inputs)
	}
	if n := scan.graph.nodes[0]; n.name != "n" || n.op != "Anything" || n.inputs[0] != "x" || n.outputs[0] != "y" {
		t.Errorf("node = %+v", n)
	}

	// The encoding does not depend on map order.
	for i := 0; i < 5; i++ {
		again, err := g.Marshal()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("second encoding differs (err %v)", err)
		}
	}
}

func TestWriteONNXSymbolicDims(t *testing.T) {
	g := &Graph{
		Opset:   11,
		Inputs:  []ValueInfo{{Name: "x", DType: Int64, Shape: []int{-1, 3, -1}, DimNames: []string{"", "", "len"}}},
		Nodes:   []GraphNode{{Op: "Identity", Inputs: []string{"x"}, Outputs: []string{"y"}}},
		Outputs: []ValueInfo{{Name: "y", DType: Int64}},
	}
	data, err := g.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	scan, err := scanModel(data)
	if err != nil {
		t.Fatal(err)
	}
	in := scan.graph.inputs[0]
	if scan.opset != 11 || in.elem != onnxInt64 || len(in.dims) != 3 || in.dims[0] != -1 || in.dims[1] != 3 || in.dims[2] != -1 {
		t.Errorf("opset %d input %+v", scan.opset, in)
	}
	for _, want := range []string{"N", "len"} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("dim_param %q missing", want)
		}
	}
	if bytes.Contains(data, []byte("d2")) {
		t.Error("named dimension written with its default name")
	}
}

func TestWriteONNXErrors(t *testing.T) {
	base := func() *Graph {
		return &Graph{
			Inputs:       []ValueInfo{{Name: "x", DType: Float32, Shape: []int{1, 2}}},
			Initializers: []Initializer{{Name: "w", Tensor: FromData([]float32{1, 2}, 2)}},
			Nodes:        []GraphNode{{Name: "add", Op: "Add", Inputs: []string{"x", "w"}, Outputs: []string{"y"}}},
			Outputs:      []ValueInfo{{Name: "y", DType: Float32}},
		}
	}
	cases := []struct {
		name   string
		change func(g *Graph)
		want   string
	}{
		{"undefined input", func(g *Graph) { g.Nodes[0].Inputs[1] = "v" }, `input "v" is not defined before it`},
		{"out of order", func(g *Graph) {
			g.Nodes = append([]GraphNode{{Name: "relu", Op: "Relu", Inputs: []string{"y"}, Outputs: []string{"z"}}}, g.Nodes...)
		}, `input "y" is not defined before it`},
		{"duplicate name", func(g *Graph) { g.Nodes[0].Outputs[0] = "w" }, `name "w" is already used by initializer 0`},
		{"no op", func(g *Graph) { g.Nodes[0].Op = "" }, "has no op type"},
		{"no node outputs", func(g *Graph) { g.Nodes[0].Outputs = nil }, "has no outputs"},
		{"short data", func(g *Graph) { g.Initializers[0].Tensor = &Tensor{Shape: []int{3}, Data: []float32{1}} }, "holds 1 floats"},
		{"nil tensor", func(g *Graph) { g.Initializers[0].Tensor = nil }, "nil tensor"},
		{"bad attribute", func(g *Graph) { g.Nodes[0].Attrs = Attrs{"x": struct{}{}} }, "attribute x: unsupported value type"},
		{"no outputs", func(g *Graph) { g.Outputs = nil }, "no outputs"},
		{"unknown output", func(g *Graph) { g.Outputs[0].Name = "q" }, `output "q" is not produced`},
		{"empty input name", func(g *Graph) { g.Inputs[0].Name = "" }, "empty name"},
	}
	if _, err := base().Marshal(); err != nil {
		t.Fatalf("base graph: %v", err)
	}
	for _, c := range cases {
		g := base()
		c.change(g)
		err := WriteONNX(&bytes.Buffer{}, g)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
	// A failing writer's error is returned.
	if err := WriteONNX(failWriter{}, base()); !errors.Is(err, errWriteFailed) {
		t.Errorf("write error = %v", err)
	}
}

var errWriteFailed = errors.New("disk full")

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errWriteFailed }
