package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
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

func TestPredict(t *testing.T) {
	m, dog := tinyDarknet(t)

	code, out, errOut := deepscope(t, "predict", "--model", m, "--top", "3", dog)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || lines[0] != dog {
		t.Fatalf("output %q: want the image then 3 classes", out)
	}
	// ONNX Runtime gives dogsled 0.70, malamute 0.08, Eskimo dog 0.05.
	if f := strings.Fields(lines[1]); len(f) != 3 || f[1] != "537" || f[2] != "dogsled" || !strings.HasPrefix(f[0], "0.7") {
		t.Errorf("first class line %q, want 0.7... 537 dogsled", lines[1])
	}

	// --json, with the flags after the image.
	code, out, errOut = deepscope(t, "predict", dog, "--model", m, "--json", "--top", "2")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var preds []prediction
	if err := json.Unmarshal([]byte(out), &preds); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	if len(preds) != 1 || preds[0].Image != dog || len(preds[0].Top) != 2 {
		t.Fatalf("got %+v", preds)
	}
	top := preds[0].Top
	if top[0].Index != 537 || top[0].Label != "dogsled" || top[0].Prob < 0.65 || top[0].Prob > 0.75 ||
		top[1].Index != 249 || top[1].Label != "malamute" || top[1].Prob > top[0].Prob {
		t.Errorf("top classes %+v, want dogsled ~0.70 then malamute", top)
	}
	// The raw JSON uses the contract's keys.
	for _, key := range []string{`"image"`, `"top"`, `"index"`, `"label"`, `"prob"`} {
		if !strings.Contains(out, key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}

// activations writes the network input and a class-score map; feeding the
// written input back with --input-npy gives the same prediction.
func TestActivationsAndInputNPY(t *testing.T) {
	m, dog := tinyDarknet(t)
	dir := t.TempDir()
	x := filepath.Join(dir, "x.npy")
	code, _, errOut := deepscope(t, "activations", "--model", m, "--layer", "data", "--out", x, dog)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	in, err := model.ReadNPY(x)
	if err != nil {
		t.Fatal(err)
	}
	if !model.SameShape(in.Shape, []int{3, 224, 224}) {
		t.Fatalf("input shape %v, want 3x224x224 (batch dropped)", in.Shape)
	}

	c16 := filepath.Join(dir, "conv16.npy")
	code, out, errOut := deepscope(t, "activations", "--input-npy", x, "--model", m, "--out", c16, "--layer", "conv16")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if !strings.Contains(out, "1000x14x14") {
		t.Errorf("stdout %q does not give the shape", out)
	}
	a, err := model.ReadNPY(c16)
	if err != nil {
		t.Fatal(err)
	}
	if !model.SameShape(a.Shape, []int{1000, 14, 14}) || a.DType != model.Float32 {
		t.Fatalf("conv16: %v", a)
	}

	// The input with its batch dimension works too.
	in.Shape = []int{1, 3, 224, 224}
	x4 := filepath.Join(dir, "x4.npy")
	if err := model.WriteNPY(x4, in); err != nil {
		t.Fatal(err)
	}
	_, fromImage, _ := deepscope(t, "predict", "--model", m, "--json", dog)
	for _, npy := range []string{x, x4} {
		code, fromNPY, errOut := deepscope(t, "predict", "--model", m, "--json", "--input-npy", npy)
		if code != 0 {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		var a, b []prediction
		if json.Unmarshal([]byte(fromImage), &a) != nil || json.Unmarshal([]byte(fromNPY), &b) != nil || len(a) != 1 || len(b) != 1 {
			t.Fatalf("bad JSON %q / %q", fromImage, fromNPY)
		}
		if b[0].Image != npy || len(b[0].Top) != 5 {
			t.Errorf("got %+v", b[0])
		}
		for i := range a[0].Top {
			if a[0].Top[i].Index != b[0].Top[i].Index || a[0].Top[i].Prob-b[0].Top[i].Prob > 1e-5 || b[0].Top[i].Prob-a[0].Top[i].Prob > 1e-5 {
				t.Errorf("%s: top %d is %+v, from the image %+v", npy, i, b[0].Top[i], a[0].Top[i])
			}
		}
	}
}

func TestLayers(t *testing.T) {
	m, _ := tinyDarknet(t)
	code, out, errOut := deepscope(t, "layers", "--model", m)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	// Header, the input, 16 Conv + 15 LeakyRelu + 4 MaxPool + GlobalAveragePool + Flatten + Softmax.
	if len(lines) != 1+1+38 {
		t.Fatalf("%d lines, want 40:\n%s", len(lines), out)
	}
	want := map[string][]string{
		"data":    {"data", "Input", "1x3x224x224"},
		"conv16":  {"conv16", "Conv", "1x1000x14x14"},
		"relu1":   {"relu1", "LeakyRelu", "1x16x224x224"},
		"avgpool": {"avgpool", "GlobalAveragePool", "1x1000x1x1"},
		"prob":    {"prob", "Softmax", "1x1000"},
	}
	col := strings.Index(lines[0], "OP")
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != 3 {
			t.Errorf("line %q has %d columns", l, len(f))
			continue
		}
		if strings.Index(l, f[1]) != col {
			t.Errorf("line %q: op column not aligned at %d", l, col)
		}
		if w, ok := want[f[0]]; ok {
			if strings.Join(f, " ") != strings.Join(w, " ") {
				t.Errorf("got %q, want %q", f, w)
			}
			delete(want, f[0])
		}
	}
	if len(want) > 0 {
		t.Errorf("missing layers %v", want)
	}
}

func TestBadInput(t *testing.T) {
	m, dog := tinyDarknet(t)
	dir := t.TempDir()
	raw, err := os.ReadFile(m)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.onnx")
	notImage := filepath.Join(dir, "photo.jpg")
	wrongShape := filepath.Join(dir, "wrong.npy")
	intNPY := filepath.Join(dir, "ints.npy")
	if os.WriteFile(truncated, raw[:1000], 0o644) != nil ||
		os.WriteFile(notImage, []byte("this is not a JPEG\n"), 0o644) != nil ||
		model.WriteNPY(wrongShape, model.NewTensor(3, 224, 225)) != nil ||
		model.WriteNPY(intNPY, model.FromInts(make([]int64, 3*224*224), 3, 224, 224)) != nil {
		t.Fatal("writing test files failed")
	}
	missing := filepath.Join(dir, "missing.onnx")
	out := filepath.Join(dir, "a.npy")

	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"missing model", []string{"predict", "--model", missing, dog}, []string{missing, "no such file"}},
		{"truncated model", []string{"layers", "--model", truncated}, []string{truncated, "corrupt"}},
		{"truncated model predict", []string{"predict", "--model", truncated, dog}, []string{"corrupt"}},
		{"unknown layer", []string{"activations", "--model", m, "--layer", "conv99", "--out", out, dog}, []string{`no layer "conv99"`}},
		{"undecodable image", []string{"predict", "--model", m, notImage}, []string{notImage, "unknown format"}},
		{"missing image", []string{"predict", "--model", m, filepath.Join(dir, "nope.png")}, []string{"nope.png", "does not exist"}},
		{"wrong npy shape", []string{"predict", "--model", m, "--input-npy", wrongShape}, []string{"shape 3x224x225", "1x3x224x224"}},
		{"wrong npy shape activations", []string{"activations", "--model", m, "--layer", "conv1", "--out", out, "--input-npy", wrongShape}, []string{"shape 3x224x225"}},
		{"int64 npy", []string{"predict", "--model", m, "--input-npy", intNPY}, []string{"int64", "float32"}},
		{"npy not numpy", []string{"predict", "--model", m, "--input-npy", notImage}, []string{"not a .npy file"}},
		{"image and npy", []string{"predict", "--model", m, "--input-npy", wrongShape, dog}, []string{"not both"}},
		{"no input", []string{"predict", "--model", m}, []string{"no input"}},
		{"two images for activations", []string{"activations", "--model", m, "--layer", "conv1", "--out", out, dog, dog}, []string{"2 images"}},
		{"no model flag", []string{"layers"}, []string{"--model is required"}},
		{"no layer flag", []string{"activations", "--model", m, "--out", out, dog}, []string{"--layer is required"}},
		{"unwritable out", []string{"activations", "--model", m, "--layer", "conv1", "--out", filepath.Join(dir, "no", "a.npy"), dog}, []string{"--out"}},
		{"unknown flag", []string{"predict", "--modle", m, dog}, []string{"-modle", "help predict"}},
		{"bad flag value", []string{"predict", "--model", m, "--top", "many", dog}, []string{"-top"}},
		{"bad mean", []string{"predict", "--model", m, "--mean", "0.5,x", dog}, []string{"-mean"}},
		{"bad color", []string{"predict", "--model", m, "--color", "CMYK", dog}, []string{"CMYK"}},
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
			if stdout != "" && !strings.HasPrefix(c.name, "conformance") {
				t.Errorf("stdout %q, want nothing", stdout)
			}
		})
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed activations command wrote its --out file")
	}
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
	code, out, _ = deepscope(t, "conformance", "--run", "^test_(relu|abs)$", nodeTests)
	if code != 0 || out != "pass test_abs\npass test_relu\n2 passed, 0 failed, 0 skipped\n" {
		t.Errorf("exit %d, stdout %q", code, out)
	}
}
