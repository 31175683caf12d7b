package model

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// A minimal ONNX writer for loader tests (field numbers of onnx.proto3).

type pbNode struct {
	name, op        string
	inputs, outputs []string
	ints            map[string][]int64
	floats          map[string]float32
}

type pbTensor struct {
	name     string
	dims     []int64
	data     []float32
	external map[string]string
}

func pbBytes(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func pbVarint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func encodeTensor(t pbTensor) []byte {
	var b []byte
	for _, d := range t.dims {
		b = pbVarint(b, 1, uint64(d))
	}
	b = pbVarint(b, 2, onnxFloat)
	b = pbBytes(b, 8, []byte(t.name))
	if t.external != nil {
		for k, v := range t.external {
			var kv []byte
			kv = pbBytes(kv, 1, []byte(k))
			kv = pbBytes(kv, 2, []byte(v))
			b = pbBytes(b, 13, kv)
		}
		return pbVarint(b, 14, 1)
	}
	raw := make([]byte, 4*len(t.data))
	for i, v := range t.data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return pbBytes(b, 9, raw)
}

func encodeValue(name string, dims []int64) []byte {
	var shape []byte
	for _, d := range dims {
		shape = pbBytes(shape, 1, pbVarint(nil, 1, uint64(d)))
	}
	var tt []byte
	tt = pbVarint(tt, 1, onnxFloat)
	tt = pbBytes(tt, 2, shape)
	var b []byte
	b = pbBytes(b, 1, []byte(name))
	return pbBytes(b, 2, pbBytes(nil, 1, tt))
}

func encodeModel(opset int, nodes []pbNode, inits []pbTensor, input string, inDims []int64, outputs ...string) []byte {
	var g []byte
	for _, n := range nodes {
		var nb []byte
		for _, in := range n.inputs {
			nb = pbBytes(nb, 1, []byte(in))
		}
		for _, o := range n.outputs {
			nb = pbBytes(nb, 2, []byte(o))
		}
		nb = pbBytes(nb, 3, []byte(n.name))
		nb = pbBytes(nb, 4, []byte(n.op))
		for k, v := range n.ints {
			var a []byte
			a = pbBytes(a, 1, []byte(k))
			for _, x := range v {
				a = pbVarint(a, 8, uint64(x))
			}
			a = pbVarint(a, 20, 7) // INTS
			nb = pbBytes(nb, 5, a)
		}
		for k, v := range n.floats {
			var a []byte
			a = pbBytes(a, 1, []byte(k))
			a = protowire.AppendTag(a, 2, protowire.Fixed32Type)
			a = protowire.AppendFixed32(a, math.Float32bits(v))
			a = pbVarint(a, 20, 1) // FLOAT
			nb = pbBytes(nb, 5, a)
		}
		g = pbBytes(g, 1, nb)
	}
	g = pbBytes(g, 2, []byte("test"))
	for _, t := range inits {
		g = pbBytes(g, 5, encodeTensor(t))
	}
	g = pbBytes(g, 11, encodeValue(input, inDims))
	for _, o := range outputs {
		g = pbBytes(g, 12, encodeValue(o, nil))
	}
	var m []byte
	m = pbVarint(m, 1, 8)
	m = pbBytes(m, 8, pbVarint(nil, 2, uint64(opset)))
	return pbBytes(m, 7, g)
}

// tinyNet is x[1,1,4,4] -> Conv(2 filters 3x3, pad 1) -> Relu -> GlobalAveragePool.
func tinyNet() []byte {
	w := make([]float32, 2*1*3*3)
	for i := range w {
		w[i] = float32(i%5) - 2
	}
	return encodeModel(13, []pbNode{
		{name: "conv", op: "Conv", inputs: []string{"x", "w", "b"}, outputs: []string{"c"}, ints: map[string][]int64{"pads": {1, 1, 1, 1}}},
		{name: "relu", op: "Relu", inputs: []string{"c"}, outputs: []string{"r"}},
		{name: "gap", op: "GlobalAveragePool", inputs: []string{"r"}, outputs: []string{"y"}},
	}, []pbTensor{{name: "w", dims: []int64{2, 1, 3, 3}, data: w}, {name: "b", dims: []int64{2}, data: []float32{0.5, -0.5}}},
		"x", []int64{1, 1, 4, 4}, "y")
}

func TestDecodeTinyNet(t *testing.T) {
	m, err := Decode(tinyNet(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name, op string
		shape    []int
	}{{"c", "Conv", []int{1, 2, 4, 4}}, {"r", "Relu", []int{1, 2, 4, 4}}, {"y", "GlobalAveragePool", []int{1, 2, 1, 1}}}
	if len(m.Layers) != len(want) {
		t.Fatalf("got %d layers, want %d", len(m.Layers), len(want))
	}
	for i, w := range want {
		l := m.Layers[i]
		if l.Name != w.name || l.Op != w.op || !SameShape(l.Shape, w.shape) {
			t.Errorf("layer %d = %s %s %v, want %s %s %v", i, l.Name, l.Op, l.Shape, w.name, w.op, w.shape)
		}
	}
	if m.Inputs[0].Name != "x" || !SameShape(m.Inputs[0].Shape, []int{1, 1, 4, 4}) || m.Output() != "y" {
		t.Errorf("inputs %v outputs %v", m.Inputs, m.Outputs)
	}
	// A constant input: every conv output is b + sum of the 3x3 window of w
	// that overlaps the image.
	x := NewTensor(1, 1, 4, 4)
	for i := range x.Data {
		x.Data[i] = 1
	}
	a, err := m.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	c, _ := a.Get("c")
	// Centre pixel (1,1) sees the whole kernel: sum(w[0]) + 0.5.
	var sum0 float32
	for i := 0; i < 9; i++ {
		sum0 += float32(i%5) - 2
	}
	if got := c.Data[1*4+1]; math.Abs(float64(got-(sum0+0.5))) > 1e-5 {
		t.Errorf("c[0,0,1,1] = %v, want %v", got, sum0+0.5)
	}
	if _, err := a.Get("nope"); err == nil || !strings.Contains(err.Error(), `no layer "nope"`) {
		t.Errorf("unknown layer error = %v", err)
	}
}

func TestBackwardMatchesFiniteDifferences(t *testing.T) {
	m, err := Decode(tinyNet(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := NewTensor(1, 1, 4, 4)
	for i := range x.Data {
		x.Data[i] = float32(math.Sin(float64(i)*1.3)) + 0.4
	}
	f := func() float64 {
		a, err := m.Run(x)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Release()
		y, _ := a.Get("y")
		return float64(y.Data[0]) + 2*float64(y.Data[1])
	}
	a, err := m.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	seed := FromData([]float32{1, 2}, 1, 2, 1, 1)
	g, err := m.Backward(a, map[string]*Tensor{"y": seed}, Vanilla, "x", "r")
	defer a.Release()
	if err != nil {
		t.Fatal(err)
	}
	if !SameShape(g["r"].Shape, []int{1, 2, 4, 4}) || math.Abs(float64(g["r"].Data[0])-1.0/16) > 1e-7 {
		t.Errorf("grad at r = %v (want 1/16 everywhere in channel 0)", g["r"].Data[:4])
	}
	// Conv outputs stay at least 0.05 away from the ReLU kink for this x,
	// so a step of 1e-3 (|w| <= 2, 9 taps) never crosses it.
	c, _ := a.Get("c")
	for _, v := range c.Data {
		if math.Abs(float64(v)) < 0.05 {
			t.Fatalf("test input too close to a ReLU kink: %v", v)
		}
	}
	const eps = 1e-3
	for i := range x.Data {
		old := x.Data[i]
		x.Data[i] = old + eps
		p := f()
		x.Data[i] = old - eps
		q := f()
		x.Data[i] = old
		num := (p - q) / (2 * eps)
		if math.Abs(num-float64(g["x"].Data[i])) > 2e-3 {
			t.Errorf("dx[%d] = %v, finite difference %v", i, g["x"].Data[i], num)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	good := tinyNet()
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "no graph"},
		{"truncated", good[:len(good)/2], "corrupt ONNX model"},
		{"garbage", []byte("this is not a protobuf at all, just text"), "corrupt ONNX model"},
		{"unsupported ops listed together", encodeModel(13, []pbNode{
			{name: "a", op: "Foo", inputs: []string{"x"}, outputs: []string{"y1"}},
			{name: "b", op: "Bar", inputs: []string{"y1"}, outputs: []string{"y2"}},
			{name: "c", op: "Foo", inputs: []string{"y2"}, outputs: []string{"y"}},
		}, nil, "x", []int64{1, 3}, "y"), `Bar (node "b"); Foo (node "a", "c")`},
		{"cycle", encodeModel(13, []pbNode{
			{name: "a", op: "Relu", inputs: []string{"z"}, outputs: []string{"y"}},
			{name: "b", op: "Relu", inputs: []string{"y"}, outputs: []string{"z"}},
		}, nil, "x", []int64{1, 3}, "y"), "cycle"},
		{"dangling input", encodeModel(13, []pbNode{
			{name: "a", op: "Add", inputs: []string{"x", "ghost"}, outputs: []string{"y"}},
		}, nil, "x", []int64{1, 3}, "y"), `input "ghost" is neither`},
		{"duplicate output", encodeModel(13, []pbNode{
			{name: "a", op: "Relu", inputs: []string{"x"}, outputs: []string{"y"}},
			{name: "b", op: "Relu", inputs: []string{"x"}, outputs: []string{"y"}},
		}, nil, "x", []int64{1, 3}, "y"), "already produced"},
		{"opset too new", encodeModel(99, []pbNode{
			{name: "a", op: "Relu", inputs: []string{"x"}, outputs: []string{"y"}},
		}, nil, "x", []int64{1, 3}, "y"), "opset 99"},
		{"huge initializer", encodeModel(13, []pbNode{
			{name: "a", op: "Add", inputs: []string{"x", "w"}, outputs: []string{"y"}},
		}, []pbTensor{{name: "w", dims: []int64{100000, 100000, 100000}}}, "x", []int64{1, 3}, "y"), "more than"},
		{"short raw data", encodeModel(13, []pbNode{
			{name: "a", op: "Add", inputs: []string{"x", "w"}, outputs: []string{"y"}},
		}, []pbTensor{{name: "w", dims: []int64{3}, data: []float32{1}}}, "x", []int64{1, 3}, "y"), "raw data holds 4 bytes"},
		{"external outside dir", encodeModel(13, []pbNode{
			{name: "a", op: "Add", inputs: []string{"x", "w"}, outputs: []string{"y"}},
		}, []pbTensor{{name: "w", dims: []int64{3}, external: map[string]string{"location": "../../etc/passwd"}}}, "x", []int64{1, 3}, "y"), "inside the model's directory"},
		{"wrong shapes", encodeModel(13, []pbNode{
			{name: "a", op: "Add", inputs: []string{"x", "w"}, outputs: []string{"y"}},
		}, []pbTensor{{name: "w", dims: []int64{4}, data: []float32{1, 2, 3, 4}}}, "x", []int64{1, 3}, "y"), `Add node "a"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.data, Options{dir: t.TempDir()})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want it to mention %q", err, c.want)
			}
		})
	}
	_, err := Decode(encodeModel(13, []pbNode{{name: "a", op: "Foo", inputs: []string{"x"}, outputs: []string{"y"}}}, nil, "x", []int64{1}, "y"), Options{})
	if !errors.Is(err, ErrUnsupportedOp) {
		t.Errorf("unsupported op error %v is not ErrUnsupportedOp", err)
	}
}

func TestExternalData(t *testing.T) {
	dir := t.TempDir()
	raw := make([]byte, 8+12)
	for i, v := range []float32{1, 2, 3} {
		binary.LittleEndian.PutUint32(raw[8+4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(filepath.Join(dir, "weights.bin"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	data := encodeModel(13, []pbNode{{name: "a", op: "Add", inputs: []string{"x", "w"}, outputs: []string{"y"}}},
		[]pbTensor{{name: "w", dims: []int64{3}, external: map[string]string{"location": "weights.bin", "offset": "8", "length": "12"}}},
		"x", []int64{1, 3}, "y")
	path := filepath.Join(dir, "m.onnx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Load(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := m.Run(FromData([]float32{10, 20, 30}, 1, 3))
	if err != nil {
		t.Fatal(err)
	}
	y, _ := a.Get("y")
	assertClose(t, y, []float32{11, 22, 33}, 0)
	if _, err := m.Run(NewTensor(1, 4)); err == nil || !strings.Contains(err.Error(), "model wants 1x3") {
		t.Errorf("wrong input shape error = %v", err)
	}
}

func TestConcurrentRuns(t *testing.T) {
	m, err := Decode(tinyNet(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := NewTensor(1, 1, 4, 4)
	for i := range x.Data {
		x.Data[i] = float32(i) / 16
	}
	ref, _ := m.Run(x)
	want, _ := ref.Get("y")
	done := make(chan error, 8)
	for w := 0; w < 8; w++ {
		go func() {
			for i := 0; i < 50; i++ {
				a, err := m.Run(x)
				if err != nil {
					done <- err
					return
				}
				y, _ := a.Get("y")
				if y.Data[0] != want.Data[0] || y.Data[1] != want.Data[1] {
					a.Release()
					done <- errors.New("concurrent run differs")
					return
				}
				if _, err := m.Backward(a, map[string]*Tensor{"y": FromData([]float32{1, 0}, 1, 2, 1, 1)}, Guided, "x"); err != nil {
					done <- err
					return
				}
				a.Release()
			}
			done <- nil
		}()
	}
	for w := 0; w < 8; w++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzDecode: no input makes the loader panic or hang.
func FuzzDecode(f *testing.F) {
	f.Add(tinyNet())
	f.Add([]byte{})
	f.Add([]byte{0x3a, 0x02, 0x0a, 0x00})
	for _, name := range []string{"test_conv_with_strides_padding", "test_maxpool_2d_pads", "test_gemm_default_single_elem_vector_bias", "test_softmax_axis_1", "test_reshape_reduced_dims"} {
		if b, err := os.ReadFile(filepath.Join("/usr/share/libonnx-testdata/data/node", name, "model.onnx")); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data, Options{})
		if err != nil {
			return
		}
		if len(m.Inputs) == 1 && m.Inputs[0].DType == Float32 {
			if a, err := m.Run(NewTensor(m.Inputs[0].Shape...)); err == nil {
				a.Release()
			}
		}
	})
}
