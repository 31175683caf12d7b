package model

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// Hostile inputs: files a lecturer may be handed by students or download
// from the internet. Every case must fail with an error naming the problem,
// without panicking, hanging or allocating what the file claims.

// rawTensor encodes a TensorProto with an explicit element type and raw
// payload (nil raw: no payload field at all).
func rawTensor(name string, dtype int, dims []int64, raw []byte) []byte {
	var b []byte
	for _, d := range dims {
		b = pbVarint(b, 1, uint64(d))
	}
	b = pbVarint(b, 2, uint64(dtype))
	b = pbBytes(b, 8, []byte(name))
	if raw != nil {
		b = pbBytes(b, 9, raw)
	}
	return b
}

// withGraphField appends one more field to the graph of an encoded model
// (as written by encodeModel: the graph is the model's last field).
func withGraphField(model []byte, num protowire.Number, v []byte) []byte {
	var out, graph []byte
	if err := fields(model, func(n protowire.Number, typ protowire.Type, val []byte, u uint64) error {
		switch {
		case n == 7:
			graph = append([]byte(nil), val...)
		case typ == protowire.VarintType:
			out = pbVarint(out, n, u)
		default:
			out = pbBytes(out, n, val)
		}
		return nil
	}); err != nil {
		panic(err)
	}
	graph = pbBytes(graph, num, v)
	return pbBytes(out, 7, graph)
}

// addNet is y = x + w with x [1,3]: the smallest model an initializer can
// be attached to.
func addNet(opset int, inits []pbTensor) []byte {
	return encodeModel(opset, []pbNode{{name: "add", op: "Add", inputs: []string{"x", "w"}, outputs: []string{"y"}}}, inits, "x", []int64{1, 3}, "y")
}

// addNetRaw is addNet with a hand-made initializer "w".
func addNetRaw(init []byte) []byte {
	return withGraphField(encodeModel(13, []pbNode{{name: "add", op: "Add", inputs: []string{"x", "w"}, outputs: []string{"y"}}}, nil, "x", []int64{1, 3}, "y"), 5, init)
}

// oneNode is x[1,1,4,4] -> op -> y.
func oneNode(opset int, op string, ints map[string][]int64, inputs ...string) []byte {
	return encodeModel(opset, []pbNode{{name: "victim", op: op, inputs: append([]string{"x"}, inputs...), outputs: []string{"y"}, ints: ints}}, nil, "x", []int64{1, 1, 4, 4}, "y")
}

// allocated runs f and returns the bytes it allocated.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestHostileONNX(t *testing.T) {
	good := tinyNet()
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)-1] |= 0x80 // the opset varint now runs off the end

	// 1 KB whose initializer claims 25e9 float32 values (100 GB).
	claim100GB := addNetRaw(rawTensor("w", onnxFloat, []int64{25_000_000_000}, make([]byte, 1000)))
	// 16 GiB claimed inside the element limit: 2^31 doubles, 1 KB present.
	claim16GiB := addNetRaw(rawTensor("w", onnxDouble, []int64{1 << 31}, make([]byte, 1024)))

	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty file", nil, "no graph in the file"},
		{"truncated", good[:len(good)*2/3], "corrupt ONNX model"},
		{"bit-flipped length", flipped, "corrupt ONNX model"},
		{"random bytes", bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef, 0x13}, 200), "corrupt ONNX model"},
		{"text file", []byte("ir_version: 8\ngraph { node { op_type: \"Relu\" } }\n"), "corrupt ONNX model"},
		{"huge dims", addNet(13, []pbTensor{{name: "w", dims: []int64{100000, 100000, 100000}}}), "has more than 2147483648 elements"},
		{"1 KB claiming 100 GB", claim100GB, `initializer "w": shape [25000000000] has more than 2147483648 elements`},
		{"raw data shorter than the shape", claim16GiB, `initializer "w": raw data holds 1024 bytes, shape [2147483648] of float64 needs 17179869184`},
		{"negative dims", addNetRaw(rawTensor("w", onnxFloat, []int64{-3}, nil)), `initializer "w": negative dimension -3`},
		{"wrong dtype (string)", addNetRaw(rawTensor("w", onnxString, []int64{3}, nil)), `initializer "w": unsupported tensor data type: string`},
		{"wrong dtype (complex128)", addNetRaw(rawTensor("w", 15, []int64{3}, make([]byte, 48))), "unsupported tensor data type: complex128"},
		{"unknown dtype 99", addNetRaw(rawTensor("w", 99, []int64{3}, nil)), "unsupported tensor data type: type 99"},
		{"values missing", addNetRaw(rawTensor("w", onnxInt64, []int64{3}, nil)), `initializer "w": tensor holds 0 values, shape [3] needs 3`},
		{"segmented tensor", addNetRaw(append(rawTensor("w", onnxFloat, []int64{3}, nil), pbBytes(nil, 3, pbVarint(nil, 1, 0))...)), "segmented tensors are not supported"},
		{"sparse initializer", withGraphField(addNet(13, nil), 15, nil), "sparse initializers"},
		{"unnamed initializer", addNetRaw(rawTensor("", onnxFloat, []int64{3}, make([]byte, 12))), "an initializer has no name"},
		{"duplicate initializer", addNet(13, []pbTensor{{name: "w", dims: []int64{3}, data: []float32{1, 2, 3}}, {name: "w", dims: []int64{3}, data: []float32{1, 2, 3}}}), `initializer "w" is defined twice`},
		{"cycle", encodeModel(13, []pbNode{
			{name: "a", op: "Relu", inputs: []string{"z"}, outputs: []string{"y"}},
			{name: "b", op: "Relu", inputs: []string{"y"}, outputs: []string{"z"}},
		}, nil, "x", []int64{1, 3}, "y"), `the graph has a cycle through Relu node "a"`},
		{"self loop", encodeModel(13, []pbNode{{name: "self", op: "Add", inputs: []string{"x", "y"}, outputs: []string{"y"}}}, nil, "x", []int64{1, 3}, "y"), `cycle through Add node "self"`},
		{"missing initializer", addNet(13, nil), `Add node "add": input "w" is neither a graph input, an initializer nor any node's output`},
		{"dangling input", encodeModel(13, []pbNode{
			{name: "a", op: "Relu", inputs: []string{"x"}, outputs: []string{"r"}},
			{name: "b", op: "Add", inputs: []string{"r", "ghost"}, outputs: []string{"y"}},
		}, nil, "x", []int64{1, 3}, "y"), `Add node "b": input "ghost" is neither`},
		{"output nobody produces", encodeModel(13, []pbNode{{name: "a", op: "Relu", inputs: []string{"x"}, outputs: []string{"r"}}}, nil, "x", []int64{1, 3}, "nothing"), `graph output "nothing" is not produced by any node`},
		{"duplicate names", encodeModel(13, []pbNode{
			{name: "a", op: "Relu", inputs: []string{"x"}, outputs: []string{"y"}},
			{name: "b", op: "Sigmoid", inputs: []string{"x"}, outputs: []string{"y"}},
		}, nil, "x", []int64{1, 3}, "y"), `Sigmoid node "b": output "y" is already produced by another node`},
		{"output overwrites the input", encodeModel(13, []pbNode{{name: "a", op: "Relu", inputs: []string{"x"}, outputs: []string{"x"}}}, nil, "x", []int64{1, 3}, "x"), `Relu node "a": output "x" overwrites a graph input or initializer`},
		{"opset beyond supported", addNet(99, []pbTensor{{name: "w", dims: []int64{3}, data: []float32{1, 2, 3}}}), "opset 99 is outside the supported range 1-18"},
		{"unknown operator", oneNode(13, "EvilOp", nil), `unsupported operator: EvilOp (node "victim")`},
		{"foreign domain", withDomain(oneNode(13, "Relu", nil), "com.evil"), `unsupported operator: com.evil.Relu (node "victim")`},
		{"huge input shape", encodeModel(13, []pbNode{{name: "a", op: "Relu", inputs: []string{"x"}, outputs: []string{"y"}}}, nil, "x", []int64{1, 3, 100000, 100000}, "y"), `input "x": shape [1 3 100000 100000] is too large`},
		{"huge Pad", oneNode(10, "Pad", map[string][]int64{"pads": {0, 0, 200000, 200000, 0, 0, 200000, 200000}}), `Pad node "victim"`},
		{"huge Conv padding", encodeModel(13, []pbNode{{name: "victim", op: "Conv", inputs: []string{"x", "w"}, outputs: []string{"y"}, ints: map[string][]int64{"pads": {100000, 100000, 100000, 100000}}}},
			[]pbTensor{{name: "w", dims: []int64{1, 1, 1, 1}, data: []float32{1}}}, "x", []int64{1, 1, 4, 4}, "y"), `Conv node "victim"`},
		{"huge ConvTranspose strides", encodeModel(13, []pbNode{{name: "victim", op: "ConvTranspose", inputs: []string{"x", "w"}, outputs: []string{"y"}, ints: map[string][]int64{"strides": {100000, 100000}}}},
			[]pbTensor{{name: "w", dims: []int64{1, 1, 1, 1}, data: []float32{1}}}, "x", []int64{1, 1, 4, 4}, "y"), `ConvTranspose node "victim"`},
		{"huge MaxPool padding", oneNode(13, "MaxPool", map[string][]int64{"kernel_shape": {1, 1}, "pads": {100000, 100000, 100000, 100000}}), `MaxPool node "victim"`},
		{"kernel larger than input", oneNode(13, "MaxPool", map[string][]int64{"kernel_shape": {9, 9}}), `MaxPool node "victim"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			bytes := allocated(func() { _, err = Decode(c.data, Options{dir: t.TempDir()}) })
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want it to mention %q", err, c.want)
			}
			t.Log(err)
			// Nothing here may allocate what the file claims.
			if bytes > 256<<20 {
				t.Errorf("refusing it allocated %d MB", bytes>>20)
			}
		})
	}
}

// withDomain sets the domain of the model's nodes.
func withDomain(model []byte, domain string) []byte {
	var out []byte
	fields(model, func(n protowire.Number, typ protowire.Type, v []byte, u uint64) error {
		switch {
		case n == 7:
			var g []byte
			fields(v, func(n protowire.Number, typ protowire.Type, v []byte, u uint64) error {
				if n == 1 {
					v = pbBytes(append([]byte(nil), v...), 7, []byte(domain))
				}
				g = pbBytes(g, n, v)
				return nil
			})
			out = pbBytes(out, 7, g)
		case typ == protowire.VarintType:
			out = pbVarint(out, n, u)
		default:
			out = pbBytes(out, n, v)
		}
		return nil
	})
	return out
}

// A 1 KB file claiming a 100 GB tensor is refused without allocating
// anything near its claim: the shape is checked before any payload.
func TestHostileONNXDoesNotAllocateTheClaim(t *testing.T) {
	data := addNetRaw(rawTensor("w", onnxFloat, []int64{25_000_000_000}, make([]byte, 1000)))
	if len(data) > 1200 {
		t.Fatalf("the hostile file is %d bytes", len(data))
	}
	var err error
	avg := testing.AllocsPerRun(5, func() { _, err = Decode(data, Options{}) })
	if err == nil {
		t.Fatal("a 100 GB claim was accepted")
	}
	b := allocated(func() { _, err = Decode(data, Options{}) })
	if b > 1<<20 {
		t.Errorf("refusing a 1 KB file allocated %d bytes (%v allocations)", b, avg)
	}
	t.Logf("%d-byte file claiming 100 GB refused: %d bytes, %v allocations: %v", len(data), b, avg, err)
}

// Every single-byte corruption of a valid model either loads or fails with
// an error mentioning the model; none panics.
func TestHostileONNXEveryByteFlipped(t *testing.T) {
	good := tinyNet()
	for i := range good {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			data := append([]byte(nil), good...)
			data[i] ^= mask
			m, err := Decode(data, Options{})
			if err != nil && err.Error() == "" {
				t.Fatalf("byte %d ^ %#x: empty error", i, mask)
			}
			if err == nil && (len(m.Inputs) == 0 || len(m.Outputs) == 0) {
				t.Fatalf("byte %d ^ %#x: loaded a model without inputs or outputs", i, mask)
			}
		}
	}
}

// External data stays inside the model's directory: no .., no absolute
// path, no symbolic link out of it, no reading past the end.
func TestHostileExternalData(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "model")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(root, "secret.bin")
	if err := os.WriteFile(secret, make([]byte, 12), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(dir, "link.bin")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "short.bin"), make([]byte, 8), 0o644); err != nil {
		t.Fatal(err)
	}
	ext := func(kv ...string) []byte {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return addNet(13, []pbTensor{{name: "w", dims: []int64{3}, external: m}})
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"dot-dot escape", ext("location", "../secret.bin"), `external data location "../secret.bin" must be a relative path inside the model's directory`},
		{"deep dot-dot", ext("location", "a/../../secret.bin"), "must be a relative path inside"},
		{"absolute path", ext("location", secret), "must be a relative path inside"},
		{"backslash path", ext("location", `..\secret.bin`), "must be a relative path inside"},
		{"no location", ext("offset", "0"), `external data location "" must be`},
		{"symlink out of the directory", ext("location", "link.bin"), `external data "link.bin"`},
		{"past the end", ext("location", "short.bin"), `external data "short.bin": bytes 0..12 past the end of the 8-byte file`},
		{"negative offset", ext("location", "short.bin", "offset", "-4"), `bad offset "-4"`},
		{"wrong length", ext("location", "short.bin", "length", "4"), "length 4, tensor needs 12 bytes"},
		{"missing file", ext("location", "absent.bin"), "absent.bin"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, "m.onnx")
			if err := os.WriteFile(path, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path, Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want it to mention %q", err, c.want)
			}
			t.Log(err)
		})
	}
}

func TestHostileSidecar(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "models")
	os.Mkdir(dir, 0o755)
	writeFile(t, root, "secret.txt", "root:x:0:0\n")
	writeFile(t, dir, "long.txt", strings.Repeat("x", 100_000)+"\n")
	writeFile(t, dir, "empty.txt", "\n\n")
	cases := []struct{ name, json, want string }{
		{"labels escape with ..", `{"labels": "../secret.txt"}`, `labels: "../secret.txt" must be a file name inside the model's directory`},
		{"labels absolute path", `{"labels": "` + filepath.Join(root, "secret.txt") + `"}`, "must be a file name inside the model's directory"},
		{"labels missing file", `{"labels": "absent.txt"}`, "labels: open"},
		{"labels line too long", `{"labels": "long.txt"}`, "token too long"},
		{"labels file empty", `{"labels": "empty.txt"}`, "has no labels"},
		{"labels of wrong type", `{"labels": 42}`, "labels: want a file name or an array of strings"},
		{"NaN mean", `{"input": {"mean": [NaN, 0, 0]}}`, "line 1: invalid character 'N'"},
		{"mean out of float range", `{"input": {"mean": [1e999]}}`, "input: mean: want float64, got JSON number 1e999"},
		{"zero std", `{"input": {"std": [0.2, 0, 0.2]}}`, "input.std[1]: must not be 0"},
		{"wrong channel count", `{"input": {"mean": [0.5, 0.5]}}`, "input.mean: want 1 or 3 values for RGB, got 2"},
		{"std for gray has 3", `{"input": {"color": "GRAY", "std": [1, 1, 1]}}`, "input.std: want 1 or 1 values for GRAY, got 3"},
		{"zero width", `{"input": {"width": 0}}`, "input.width: must be in 1..4096, got 0"},
		{"huge height", `{"input": {"height": 100000000}}`, "input.height: must be in 1..4096"},
		{"negative scale", `{"input": {"scale": -1}}`, "input.scale: must be a positive number"},
		{"unknown colour", `{"input": {"color": "CMYK"}}`, `input.color: unknown colour "CMYK"`},
		{"unknown resize", `{"input": {"resize": "zoom"}}`, `input.resize: unknown resize mode "zoom"`},
		{"huge short side", `{"input": {"resize": "short-side-999999999-center-crop"}}`, "bad short side"},
		{"typo field", `{"inptu": {}}`, `unknown field "inptu"`},
		{"truncated", `{"input": {"width": 22`, "unexpected EOF"},
		{"trailing data", `{} {}`, "unexpected data after the JSON object"},
		{"not an object", `[1, 2, 3]`, "want a JSON object"},
		{"binary junk", "\x00\x01\x02\xff", "invalid character"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, "m.json")
			_, err := ParseSidecar([]byte(c.json), path)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error = %v, want it to name %s and %q", err, path, c.want)
			}
			t.Log(err)
		})
	}
	// Values that JSON cannot carry but command-line overrides can.
	for _, c := range []struct {
		name string
		edit func(*InputSpec)
		want string
	}{
		{"NaN mean override", func(in *InputSpec) { in.Mean = []float64{math.NaN()} }, "input.mean[0]: must be a finite number, got NaN"},
		{"infinite std override", func(in *InputSpec) { in.Std = []float64{1, math.Inf(1), 1} }, "input.std[1]: must be a finite number, got +Inf"},
		{"NaN std override", func(in *InputSpec) { in.Std = []float64{math.NaN()} }, "input.std[0]: must be a finite number, got NaN"},
		{"NaN scale override", func(in *InputSpec) { in.Scale = math.NaN() }, "input.scale: must be a positive number, got NaN"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := DefaultSidecar()
			c.edit(&s.Input)
			err := s.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want %q", err, c.want)
			}
			t.Log(err)
		})
	}
}

// npyFile builds a .npy version 1.0 file with the given header dict and
// payload.
func npyFile(dict string, payload []byte) []byte {
	hdr := dict + "\n"
	for (10+len(hdr))%64 != 0 {
		hdr = " " + hdr
	}
	var b bytes.Buffer
	b.WriteString(npyMagic + "\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(hdr)))
	b.WriteString(hdr)
	b.Write(payload)
	return b.Bytes()
}

func TestHostileNPY(t *testing.T) {
	v2 := []byte(npyMagic + "\x02\x00\xff\xff\xff\x7f{")
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"huge shape, tiny file", npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (2147483647,), }", make([]byte, 64)), "truncated .npy data: want 2147483647 values of shape [2147483647]"},
		{"shape overflows", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", nil), ".npy shape [4294967296 4294967296] is too large"},
		{"shape beyond int", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }", nil), "shape is not a tuple of integers"},
		{"negative shape", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", nil), "shape is not a tuple of integers"},
		{"fortran order", npyFile("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", make([]byte, 16)), "Fortran order"},
		{"object dtype", npyFile("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", make([]byte, 8)), `unsupported .npy dtype "|O"`},
		{"structured dtype", npyFile("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", nil), "structured dtypes are not supported"},
		{"missing shape", npyFile("{'descr': '<f4', 'fortran_order': False, }", nil), "missing shape"},
		{"unknown key", npyFile("{'descr': '<f4', 'evil': 1, 'shape': (1,), }", nil), "unknown key evil"},
		{"unterminated string", npyFile("{'descr': '<f4, 'shape': (1,)", nil), "malformed .npy header"},
		{"header not a dict", npyFile("import os; os.system('rm -rf /')", nil), "want '{'"},
		{"implausible header length", v2, "header length 2147483647 is implausible"},
		{"header longer than the file", []byte(npyMagic + "\x01\x00\xff\x00{'descr'"), "truncated .npy header"},
		{"bad magic", []byte("\x93NUMPZ\x01\x00"), "bad magic"},
		{"empty", nil, "not a .npy file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			b := allocated(func() { _, err = DecodeNPY(bytes.NewReader(c.data)) })
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want it to mention %q", err, c.want)
			}
			t.Log(err)
			if b > 64<<20 {
				t.Errorf("refusing a %d-byte file allocated %d MB", len(c.data), b>>20)
			}
		})
	}
}

// jpegClaiming returns the JPEG jpg with its frame header (SOF0) patched to
// claim w x h.
func jpegClaiming(jpg []byte, w, h uint16) []byte {
	out := append([]byte(nil), jpg...)
	i := bytes.Index(out, []byte{0xff, 0xc0})
	binary.BigEndian.PutUint16(out[i+5:], h)
	binary.BigEndian.PutUint16(out[i+7:], w)
	return out
}

// gifHeader returns a GIF89a logical screen descriptor claiming w x h.
func gifHeader(w, h uint16) []byte {
	b := []byte("GIF89a")
	b = binary.LittleEndian.AppendUint16(b, w)
	b = binary.LittleEndian.AppendUint16(b, h)
	return append(b, 0, 0, 0)
}

// bmpHeader returns BMP file and info headers claiming w x h, 24 bits.
func bmpHeader(w, h int32) []byte {
	b := []byte("BM")
	b = binary.LittleEndian.AppendUint32(b, 54)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 54)
	b = binary.LittleEndian.AppendUint32(b, 40)
	b = binary.LittleEndian.AppendUint32(b, uint32(w))
	b = binary.LittleEndian.AppendUint32(b, uint32(h))
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint16(b, 24)
	return append(b, make([]byte, 24)...)
}

// pngChunk appends a PNG chunk with its CRC.
func pngChunk(b []byte, typ string, data []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	c := append([]byte(typ), data...)
	b = append(b, c...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(c))
}

func TestHostileImage(t *testing.T) {
	dir := t.TempDir()
	var good bytes.Buffer
	if err := encodeJPEG(&good); err != nil {
		t.Fatal(err)
	}
	jpg := good.Bytes()
	cases := []struct {
		name    string
		content []byte
		want    string
	}{
		{"zero-size.png", nil, "the file is empty"},
		{"zero-size.jpg", nil, "the file is empty"},
		{"zero-width.png", pngHeader(0, 100), "zero-width.png"},
		{"100k.png", pngHeader(100000, 100000), "png image of 100000x100000 pixels is too large"},
		{"100k.jpg", jpegClaiming(jpg, 60000, 60000), "jpeg image of 60000x60000 pixels is too large"},
		{"100k.gif", gifHeader(60000, 60000), "gif image of 60000x60000 pixels is too large"},
		{"100k.bmp", bmpHeader(100000, 100000), "bmp image of 100000x100000 pixels is too large"},
		{"negative.bmp", bmpHeader(-5, 10), "negative.bmp"},
		{"truncated.jpg", jpg[:len(jpg)/2], "decode jpeg"},
		{"header-only.jpg", jpg[:20], "header-only.jpg"},
		{"bit-flipped.jpg", flipEvery(jpg, 7), "bit-flipped.jpg"},
		{"png without IDAT", pngChunk(pngHeader(4, 4), "IEND", nil), "decode png"},
		{"text.png", []byte("<html>not an image</html>"), "unknown format (want PNG, JPEG, GIF, BMP, WebP or TIFF)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, dir, strings.ReplaceAll(c.name, " ", "_"), string(c.content))
			var err error
			b := allocated(func() { _, err = DecodeImage(path) })
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error = %v, want it to name %s and %q", err, path, c.want)
			}
			t.Log(err)
			if b > 64<<20 {
				t.Errorf("refusing it allocated %d MB", b>>20)
			}
		})
	}
}

// encodeJPEG writes a 64x48 JPEG of the numbered test image.
func encodeJPEG(b *bytes.Buffer) error {
	return jpeg.Encode(b, numbered(64, 48), &jpeg.Options{Quality: 90})
}

// flipEvery inverts every n-th byte after the first 200.
func flipEvery(b []byte, n int) []byte {
	out := append([]byte(nil), b...)
	for i := 200; i < len(out); i += n {
		out[i] ^= 0xff
	}
	return out
}
