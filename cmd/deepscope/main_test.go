package main

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/deepscope/deepscope/model"
)

// sharedDir is the project's shared folder (models, photos): $DEEPSCOPE_SHARED
// or ../shared next to the repository.
func sharedDir() string {
	if d := os.Getenv("DEEPSCOPE_SHARED"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "shared")
}

// tinyDarknet returns the paths of the shared Tiny Darknet model and the
// dog photo, skipping the test when they are absent.
func tinyDarknet(t *testing.T) (modelPath, dog string) {
	t.Helper()
	modelPath = filepath.Join(sharedDir(), "models", "tiny_darknet.onnx")
	dog = filepath.Join(sharedDir(), "photos", "dog.jpg")
	for _, p := range []string{modelPath, dog} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s is absent (set DEEPSCOPE_SHARED to the shared folder)", p)
		}
	}
	return modelPath, dog
}

// deepscope runs the command line in-process.
func deepscope(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// wantUsageError checks for exit status 2 and exactly one stderr line
// "deepscope: ..." containing each of want.
func wantUsageError(t *testing.T, code int, stderr string, want ...string) {
	t.Helper()
	if code != 2 {
		t.Errorf("exit status %d, want 2 (stderr %q)", code, stderr)
	}
	if !strings.HasPrefix(stderr, "deepscope: ") || strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
		t.Errorf("stderr %q is not one line starting with \"deepscope: \"", stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr %q does not contain %q", stderr, w)
		}
	}
}

// tinyModel is testdata/tiny.onnx (see testdata/make_tiny.py): data
// 1x3x8x8 -> conv1 -> relu1 -> pool1 -> gap -> flat -> logits 1x3, without
// Softmax; its sidecar tiny.json stretches images to 8x8, normalises with
// mean 0.5 and std 0.25 and names the classes cat, dog, bird.
const tinyModel = "testdata/tiny.onnx"

// writeUniformPNG writes a w x h image of one colour.
func writeUniformPNG(t *testing.T, path string, w, h int, c color.RGBA) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(c), image.Point{}, draw.Src)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runOK runs a command that must succeed and returns its stdout.
func runOK(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := deepscope(t, args...)
	if code != 0 || errOut != "" {
		t.Fatalf("deepscope %s: exit %d, stderr %q", strings.Join(args, " "), code, errOut)
	}
	return out
}

func readNPY(t *testing.T, path string) *model.Tensor {
	t.Helper()
	x, err := model.ReadNPY(path)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func parsePredictions(t *testing.T, out string) []prediction {
	t.Helper()
	var preds []prediction
	if err := json.Unmarshal([]byte(out), &preds); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	return preds
}

// The image goes through the sidecar's preprocessing, which the flags
// override; activations writes the layer without its batch dimension.
func TestPreprocessingAndActivations(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "blue.png")
	writeUniformPNG(t, img, 20, 12, color.RGBA{51, 102, 204, 255})
	out := filepath.Join(dir, "data.npy")
	cases := []struct {
		flags []string
		want  [3]float32 // per channel
	}{
		{nil, [3]float32{-1.2, -0.4, 1.2}},                                                         // (p/255 - 0.5) / 0.25
		{[]string{"--mean", "0", "--std", "1"}, [3]float32{0.2, 0.4, 0.8}},                         // p/255
		{[]string{"--color", "BGR", "--scale", "1", "--mean", "0,0,0"}, [3]float32{816, 408, 204}}, // BGR p/0.25
	}
	for _, c := range cases {
		args := append([]string{"activations", img, "--model", tinyModel, "--layer", "data", "--out", out}, c.flags...)
		if stdout := runOK(t, args...); stdout != "wrote "+out+": layer data, 3x8x8 float32\n" {
			t.Errorf("stdout %q", stdout)
		}
		x := readNPY(t, out)
		if !model.SameShape(x.Shape, []int{3, 8, 8}) {
			t.Fatalf("%v: shape %v, want 3x8x8", c.flags, x.Shape)
		}
		for i, v := range x.Data {
			if w := c.want[i/64]; math.Abs(float64(v-w)) > 1e-4*math.Max(1, math.Abs(float64(w))) {
				t.Fatalf("%v: data[%d] = %g, want %g", c.flags, i, v, w)
			}
		}
	}

	runOK(t, "activations", "--model", tinyModel, "--layer", "pool1", "--out", out, img)
	if x := readNPY(t, out); !model.SameShape(x.Shape, []int{4, 4, 4}) {
		t.Errorf("pool1 shape %v, want 4x4x4", x.Shape)
	}
}

// predict applies softmax to a graph without one, sorts the classes and
// names them from the sidecar; --input-npy takes the input with or without
// its batch dimension.
func TestPredictSoftmax(t *testing.T) {
	dir := t.TempDir()
	x := model.NewTensor(3, 8, 8)
	for i := range x.Data {
		x.Data[i] = float32(math.Sin(float64(i)*0.7)) * 2
	}
	x3, x4 := filepath.Join(dir, "x3.npy"), filepath.Join(dir, "x4.npy")
	if err := model.WriteNPY(x3, x); err != nil {
		t.Fatal(err)
	}
	x.Shape = []int{1, 3, 8, 8}
	if err := model.WriteNPY(x4, x); err != nil {
		t.Fatal(err)
	}
	logitsFile := filepath.Join(dir, "logits.npy")
	runOK(t, "activations", "--model", tinyModel, "--layer", "logits", "--out", logitsFile, "--input-npy", x3)
	logits := readNPY(t, logitsFile)
	if !model.SameShape(logits.Shape, []int{3}) {
		t.Fatalf("logits shape %v, want 3", logits.Shape)
	}
	want := make([]float64, 3)
	sum := 0.0
	for i, v := range logits.Data {
		want[i] = math.Exp(float64(v))
		sum += want[i]
	}
	labels := []string{"cat", "dog", "bird"}
	for _, npy := range []string{x3, x4} {
		preds := parsePredictions(t, runOK(t, "predict", "--json", "--input-npy", npy, "--model", tinyModel, "--top", "10"))
		if len(preds) != 1 || preds[0].Image != npy || len(preds[0].Top) != 3 {
			t.Fatalf("got %+v", preds)
		}
		for k, c := range preds[0].Top {
			if k > 0 && c.Prob > preds[0].Top[k-1].Prob {
				t.Errorf("classes not sorted: %+v", preds[0].Top)
			}
			if math.Abs(c.Prob-want[c.Index]/sum) > 1e-6 || c.Label != labels[c.Index] {
				t.Errorf("class %+v, want prob %g label %s", c, want[c.Index]/sum, labels[c.Index])
			}
		}
	}

	// Several images, flags interleaved; text output is the image, then one
	// "prob index label" line per class.
	a, b := filepath.Join(dir, "a.png"), filepath.Join(dir, "b.png")
	writeUniformPNG(t, a, 9, 9, color.RGBA{255, 0, 0, 255})
	writeUniformPNG(t, b, 30, 10, color.RGBA{0, 90, 255, 255})
	out := runOK(t, "predict", a, "--top", "2", "--model", tinyModel, b)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 6 || lines[0] != a || lines[3] != b {
		t.Fatalf("output %q", out)
	}
	for _, l := range []string{lines[1], lines[2], lines[4], lines[5]} {
		f := strings.Fields(l)
		p, err := strconv.ParseFloat(f[0], 64)
		if len(f) != 3 || err != nil || p < 0 || p > 1 || !slices.Contains(labels, f[2]) {
			t.Errorf("line %q is not \"prob index label\"", l)
		}
	}
	jsonOut := runOK(t, "predict", "--model", tinyModel, "--json", a, b)
	preds := parsePredictions(t, jsonOut)
	if len(preds) != 2 || preds[0].Image != a || preds[1].Image != b || len(preds[1].Top) != 3 {
		t.Errorf("got %+v", preds)
	}
	// The raw JSON uses the contract's keys.
	for _, key := range []string{`"image"`, `"top"`, `"index"`, `"label"`, `"prob"`} {
		if !strings.Contains(jsonOut, key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}

func TestLayers(t *testing.T) {
	want := `LAYER   OP                 SHAPE
data    Input              1x3x8x8
conv1   Conv               1x4x8x8
relu1   Relu               1x4x8x8
pool1   MaxPool            1x4x4x4
gap     GlobalAveragePool  1x4x1x1
flat    Flatten            1x4
logits  Gemm               1x3
`
	if got := runOK(t, "layers", "--model", tinyModel); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// The real Tiny Darknet agrees with ONNX Runtime (dogsled 0.70, malamute
// 0.08, Eskimo dog 0.05 for dog.jpg); its input written by activations and
// fed back with --input-npy gives that prediction.
func TestTinyDarknet(t *testing.T) {
	m, dog := tinyDarknet(t)
	x := filepath.Join(t.TempDir(), "x.npy")
	runOK(t, "activations", "--model", m, "--layer", "data", "--out", x, dog)
	if in := readNPY(t, x); !model.SameShape(in.Shape, []int{3, 224, 224}) {
		t.Fatalf("input shape %v, want 3x224x224 (batch dropped)", in.Shape)
	}
	preds := parsePredictions(t, runOK(t, "predict", "--model", m, "--json", "--top", "3", "--input-npy", x))
	if len(preds) != 1 || len(preds[0].Top) != 3 {
		t.Fatalf("got %+v", preds)
	}
	top := preds[0].Top
	if top[0].Index != 537 || top[0].Label != "dogsled" || math.Abs(top[0].Prob-0.70) > 0.03 ||
		top[1].Label != "malamute" || math.Abs(top[1].Prob-0.08) > 0.02 || top[2].Label != "Eskimo dog" {
		t.Errorf("top classes %+v, want dogsled 0.70, malamute 0.08, Eskimo dog 0.05", top)
	}

	out := runOK(t, "layers", "--model", m)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	// Header, the input, 16 Conv + 15 LeakyRelu + 4 MaxPool + GlobalAveragePool + Flatten + Softmax.
	if len(lines) != 40 || !strings.Contains(out, "\nconv16   Conv               1x1000x14x14\n") ||
		!strings.HasSuffix(out, "\nprob     Softmax            1x1000\n") {
		t.Errorf("layers:\n%s", out)
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	real := tinyModel
	if m := filepath.Join(sharedDir(), "models", "tiny_darknet.onnx"); fileExists(m) {
		real = m
	}
	raw, err := os.ReadFile(real)
	if err != nil {
		t.Fatal(err)
	}
	m := tinyModel
	img := filepath.Join(dir, "ok.png")
	writeUniformPNG(t, img, 8, 8, color.RGBA{1, 2, 3, 255})
	truncated := filepath.Join(dir, "truncated.onnx")
	notImage := filepath.Join(dir, "photo.jpg")
	wrongShape := filepath.Join(dir, "wrong.npy")
	intNPY := filepath.Join(dir, "ints.npy")
	if os.WriteFile(truncated, raw[:min(1000, len(raw)*2/3)], 0o644) != nil ||
		os.WriteFile(notImage, []byte("this is not a JPEG\n"), 0o644) != nil ||
		model.WriteNPY(wrongShape, model.NewTensor(3, 8, 9)) != nil ||
		model.WriteNPY(intNPY, model.FromInts(make([]int64, 3*8*8), 3, 8, 8)) != nil {
		t.Fatal("writing test files failed")
	}
	missing := filepath.Join(dir, "missing.onnx")
	out := filepath.Join(dir, "a.npy")

	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"missing model", []string{"predict", "--model", missing, img}, []string{missing, "no such file"}},
		{"truncated model", []string{"layers", "--model", truncated}, []string{truncated, "corrupt"}},
		{"truncated model predict", []string{"predict", "--model", truncated, img}, []string{"corrupt"}},
		{"unknown layer", []string{"activations", "--model", m, "--layer", "conv99", "--out", out, img}, []string{`no layer "conv99"`}},
		{"undecodable image", []string{"predict", "--model", m, notImage}, []string{notImage, "unknown format"}},
		{"missing image", []string{"predict", "--model", m, filepath.Join(dir, "nope.png")}, []string{"nope.png", "does not exist"}},
		{"wrong npy shape", []string{"predict", "--model", m, "--input-npy", wrongShape}, []string{"shape 3x8x9", "1x3x8x8 or 3x8x8"}},
		{"wrong npy shape activations", []string{"activations", "--model", m, "--layer", "conv1", "--out", out, "--input-npy", wrongShape}, []string{"shape 3x8x9"}},
		{"int64 npy", []string{"predict", "--model", m, "--input-npy", intNPY}, []string{"int64", "float32"}},
		{"npy not numpy", []string{"predict", "--model", m, "--input-npy", notImage}, []string{"not a .npy file"}},
		{"image and npy", []string{"predict", "--model", m, "--input-npy", wrongShape, img}, []string{"not both"}},
		{"no input", []string{"predict", "--model", m}, []string{"no input"}},
		{"two images for activations", []string{"activations", "--model", m, "--layer", "conv1", "--out", out, img, img}, []string{"2 images"}},
		{"no model flag", []string{"layers"}, []string{"--model is required"}},
		{"no layer flag", []string{"activations", "--model", m, "--out", out, img}, []string{"--layer is required"}},
		{"unwritable out", []string{"activations", "--model", m, "--layer", "conv1", "--out", filepath.Join(dir, "no", "a.npy"), img}, []string{"--out"}},
		{"unknown flag", []string{"predict", "--modle", m, img}, []string{"-modle", "help predict"}},
		{"bad flag value", []string{"predict", "--model", m, "--top", "many", img}, []string{"-top"}},
		{"zero top", []string{"predict", "--model", m, "--top", "0", img}, []string{"--top"}},
		{"bad mean", []string{"predict", "--model", m, "--mean", "0.5,x", img}, []string{"-mean"}},
		{"bad color", []string{"predict", "--model", m, "--color", "CMYK", img}, []string{"CMYK"}},
		{"width disagreeing with the model", []string{"predict", "--model", m, "--width", "9", img}, []string{"1x3x8x9", "1x3x8x8"}},
		{"layers with an argument", []string{"layers", "--model", m, "extra"}, []string{`"extra"`}},
		{"unknown command", []string{"frobnicate"}, []string{`unknown command "frobnicate"`}},
		{"help for unknown command", []string{"help", "frobnicate"}, []string{`"frobnicate"`}},
		{"conformance without tests", []string{"conformance", dir}, []string{"holds no ONNX test"}},
		{"conformance missing dir", []string{"conformance", filepath.Join(dir, "nope")}, []string{"nope"}},
		{"conformance no dir", []string{"conformance"}, []string{"no DIR"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := deepscope(t, c.args...)
			wantUsageError(t, code, stderr, c.want...)
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
		})
	}
	if fileExists(out) {
		t.Error("a failed activations command wrote its --out file")
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// A panic inside a command becomes one stderr line and status 2.
func TestPanicRecovered(t *testing.T) {
	commands = append(commands, command{name: "boom", run: func(*cli, []string) error { panic("kaboom\nsecond line") }})
	defer func() { commands = commands[:len(commands)-1] }()
	code, _, stderr := deepscope(t, "boom")
	wantUsageError(t, code, stderr, "internal error: kaboom; second line")
	if strings.Contains(stderr, "goroutine") {
		t.Errorf("stack trace in %q", stderr)
	}
}

func TestHelpVersionUsage(t *testing.T) {
	// Without a display, no arguments print the usage (with one, the GUI).
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	code, out, _ := deepscope(t)
	if code != 0 || !strings.Contains(out, "deepscope predict --model") {
		t.Errorf("no args: exit %d, %q", code, out)
	}
	code, out, _ = deepscope(t, "help")
	for _, c := range commands {
		if !strings.Contains(out, "deepscope "+c.name) {
			t.Errorf("help does not list %s", c.name)
		}
	}
	if code != 0 {
		t.Errorf("help: exit %d", code)
	}
	code, out, _ = deepscope(t, "help", "predict")
	if code != 0 || !strings.Contains(out, "-input-npy") || !strings.Contains(out, "-top") {
		t.Errorf("help predict: exit %d, %q", code, out)
	}
	code, out, _ = deepscope(t, "activations", "-h")
	if code != 0 || !strings.Contains(out, "-layer") {
		t.Errorf("activations -h: exit %d, %q", code, out)
	}
	code, out, _ = deepscope(t, "version")
	if code != 0 || !strings.HasPrefix(out, "deepscope ") || !strings.Contains(out, "go1.") {
		t.Errorf("version: exit %d, %q", code, out)
	}
}

// parse accepts flags and positional arguments in any order.
func TestParseInterleaved(t *testing.T) {
	c := &cli{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	fs := newFlags("x")
	top := fs.Int("top", 5, "")
	js := fs.Bool("json", false, "")
	pos, err := c.parse(fs, []string{"a.jpg", "--top", "3", "b.jpg", "--json", "c.jpg", "--", "--top", "d.jpg"})
	if err != nil {
		t.Fatal(err)
	}
	if *top != 3 || !*js || strings.Join(pos, " ") != "a.jpg b.jpg c.jpg --top d.jpg" {
		t.Errorf("top %d json %v positional %q", *top, *js, pos)
	}
}

const nodeTests = "/usr/share/libonnx-testdata/data/node"

func TestConformanceCommand(t *testing.T) {
	if _, err := os.Stat(filepath.Join(nodeTests, "test_relu")); err != nil {
		t.Skip("ONNX conformance data absent: run scripts/setup --test")
	}
	code, out, errOut := deepscope(t, "conformance", filepath.Join(nodeTests, "test_relu"), filepath.Join(nodeTests, "test_det_2d"))
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if code != 0 || errOut != "" || len(lines) != 3 {
		t.Fatalf("exit %d, stderr %q, stdout %q", code, errOut, out)
	}
	if lines[0] != "pass test_relu" || !strings.HasPrefix(lines[1], "skip test_det_2d: ") || !strings.Contains(lines[1], "Det") ||
		lines[2] != "1 passed, 0 failed, 1 skipped" {
		t.Errorf("stdout %q", out)
	}

	// A test whose expected output is wrong fails, with exit status 1.
	bad := filepath.Join(t.TempDir(), "test_relu_wrong")
	os.MkdirAll(filepath.Join(bad, "test_data_set_0"), 0o755)
	for dst, src := range map[string]string{
		"model.onnx":                  "model.onnx",
		"test_data_set_0/input_0.pb":  "test_data_set_0/input_0.pb",
		"test_data_set_0/output_0.pb": "test_data_set_0/input_0.pb", // relu(x) != x
	} {
		b, err := os.ReadFile(filepath.Join(nodeTests, "test_relu", src))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bad, dst), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, _ = deepscope(t, "conformance", "-v", filepath.Dir(bad))
	if code != 1 || !strings.HasPrefix(out, "fail test_relu_wrong max abs err ") || !strings.HasSuffix(out, "0 passed, 1 failed, 0 skipped\n") ||
		!strings.Contains(out, "output y: max abs err") {
		t.Errorf("exit %d, stdout %q", code, out)
	}

	// --run filters by name.
	code, out, _ = deepscope(t, "conformance", "--run", "^test_relu$", nodeTests)
	if code != 0 || out != "pass test_relu\n1 passed, 0 failed, 0 skipped\n" {
		t.Errorf("exit %d, stdout %q", code, out)
	}
}
