package model

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestRealSidecars(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "models")
	cases := []struct {
		model     string
		scale     float64
		mean, std []float64
	}{
		{"tiny_darknet", 255, []float64{0, 0, 0}, []float64{1, 1, 1}},
		{"mobilenet_v1_0.75_224", 127.5, []float64{1, 1, 1}, []float64{1, 1, 1}},
		{"mobilenetv2_1.0_224_dequant", 255, []float64{0.485, 0.456, 0.406}, []float64{0.229, 0.224, 0.225}},
	}
	for _, c := range cases {
		path := filepath.Join(dir, c.model+".onnx")
		s, err := LoadSidecar(path)
		if err != nil {
			t.Fatal(err)
		}
		in := s.Input
		if s.Path != filepath.Join(dir, c.model+".json") || s.Name == "" || in.Width != 224 || in.Height != 224 ||
			in.Color != RGB || in.Scale != c.scale || !reflect.DeepEqual(in.Mean, c.mean) || !reflect.DeepEqual(in.Std, c.std) ||
			in.Resize != "short-side-256-center-crop" || s.Channels() != 3 {
			t.Errorf("%s: sidecar %+v", c.model, s)
		}
		labels := s.Labels()
		if len(labels) != 1000 || labels[0] != "tench" || labels[999] != "toilet tissue" || s.Label(3) != "tiger shark" {
			t.Errorf("%s: %d labels, first %q, last %q", c.model, len(labels), labels[0], labels[len(labels)-1])
		}
		if err := s.FitInput([]int{1, 3, 224, 224}); err != nil {
			t.Errorf("%s: FitInput: %v", c.model, err)
		}
	}

	// The synsets file gives the same names, bar one spelling.
	syn, err := ReadLabels(filepath.Join(dir, "imagenet_synsets.txt"))
	if err != nil {
		t.Fatal(err)
	}
	short, err := ReadLabels(filepath.Join(dir, "imagenet_labels.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(syn) != 1000 || syn[0] != "tench" {
		t.Fatalf("synsets: %d labels, first %q", len(syn), syn[0])
	}
	var differ []string
	for i := range syn {
		if syn[i] != short[i] {
			differ = append(differ, syn[i]+"|"+short[i])
		}
	}
	if !reflect.DeepEqual(differ, []string{"jelly fish|jellyfish"}) {
		t.Fatalf("synset names differing from imagenet_labels.txt: %v", differ)
	}
}

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSidecarDefaults(t *testing.T) {
	dir := t.TempDir()
	s, err := LoadSidecar(filepath.Join(dir, "lenet.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultSidecar()
	want.Name, want.Dir = "lenet", dir
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("defaults %+v, want %+v", s, want)
	}
	if in := s.Input; in.Width != 224 || in.Height != 224 || in.Color != RGB || in.Scale != 255 || s.Channels() != 3 ||
		in.Resize != ResizeShortSideCrop || s.Labels() != nil || s.Label(7) != "class 7" {
		t.Fatalf("defaults %+v", s)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}

	// A one-channel network without sidecar: MNIST-like 1x1x28x28.
	if err := s.FitInput([]int{1, 1, 28, 28}); err != nil {
		t.Fatal(err)
	}
	if s.Channels() != 1 || s.Input.Color != Gray || s.Input.Width != 28 || s.Input.Height != 28 {
		t.Fatalf("after FitInput(1x1x28x28): %+v", s.Input)
	}
	x := s.Preprocess(numbered(40, 30))
	checkShape(t, x, 1, 1, 28, 28)
	// Unknown dimensions keep the current values; 3 channels back to RGB.
	if err := s.FitInput([]int{-1, 3, 0, 0}); err != nil || s.Input.Color != RGB || s.Input.Width != 28 {
		t.Fatalf("FitInput(?x3x?x?): %v %+v", err, s.Input)
	}
	for _, bad := range [][]int{{1, 4, 224, 224}, {1, 1000}, {2, 3, 224, 224}, {1, 3, 5000, 224}} {
		if err := DefaultSidecar().FitInput(bad); err == nil {
			t.Errorf("FitInput(%v) accepted", bad)
		}
	}
}

func TestSidecarInlineLabelsAndPartialFields(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "digits.json", `{"input": {"width": 28, "height": 28, "color": "gray", "resize": "stretch"},
		"labels": ["zero", "one", "two"]}`)
	s, err := LoadSidecar(filepath.Join(dir, "digits.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	// Absent fields keep their defaults; the colour is canonicalised.
	if s.Name != "digits" || s.Input.Color != Gray || s.Input.Scale != 255 || s.Input.Resize != ResizeStretch ||
		!reflect.DeepEqual(s.Input.Mean, []float64{0}) || !reflect.DeepEqual(s.Labels(), []string{"zero", "one", "two"}) {
		t.Fatalf("sidecar %+v", s)
	}
	// With a sidecar, disagreeing with the model is an error naming the field.
	err = s.FitInput([]int{1, 1, 32, 28})
	if err == nil || !strings.Contains(err.Error(), "input.height") || !strings.Contains(err.Error(), "digits.json") {
		t.Fatalf("FitInput mismatch: %v", err)
	}
	if err := s.FitInput([]int{1, 3, 28, 28}); err == nil || !strings.Contains(err.Error(), "input.color") {
		t.Fatalf("FitInput channel mismatch: %v", err)
	}
	if err := s.FitInput([]int{1, 1, 28, 28}); err != nil {
		t.Fatal(err)
	}
}

func TestReadLabelsFormats(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "l.txt", "n01440764\ttench, Tinca tinca\r\nn01443537 goldfish, Carassius auratus\nplain name\n\n  spaced  \n\n\n")
	got, err := ReadLabels(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"tench", "goldfish", "plain name", "", "spaced"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("labels %q, want %q", got, want)
	}
	if _, err := ReadLabels(writeFile(t, dir, "empty.txt", "\n\n")); err == nil {
		t.Fatal("empty labels file accepted")
	}
	// A labels file is resolved against the sidecar's directory, not the
	// working directory.
	writeFile(t, dir, "m.json", `{"labels": "l.txt"}`)
	s, err := LoadSidecar(filepath.Join(dir, "m.onnx"))
	if err != nil || s.Label(1) != "goldfish" {
		t.Fatalf("labels file via sidecar: %v %v", err, s)
	}
	// Overriding the file (as a flag would) is picked up by Labels.
	s.LabelNames, s.LabelsFile = nil, p
	if s.Label(2) != "plain name" {
		t.Fatalf("overridden labels file: %q", s.Labels())
	}
}

func TestMalformedSidecars(t *testing.T) {
	cases := []struct{ json, want string }{
		{`{"input": {"width": 224,}}`, "line 1"},
		{"{\n\"name\": \"x\",\n\"input\": {\"width\": 224 \"height\": 2}}", "line 3"},
		{`{"input": {"width": 0}}`, "input.width"},
		{`{"input": {"width": 5000}}`, "input.width"},
		{`{"input": {"height": -3}}`, "input.height"},
		{`{"input": {"width": "224"}}`, "width"},
		{`{"input": {"color": "CMYK"}}`, "input.color"},
		{`{"input": {"scale": 0}}`, "input.scale"},
		{`{"input": {"mean": [0.5, 0.5]}}`, "input.mean"},
		{`{"input": {"color": "GRAY", "std": [1, 1, 1]}}`, "input.std"},
		{`{"input": {"std": [0.2, 0, 0.2]}}`, "input.std[1]"},
		{`{"input": {"resize": "fit"}}`, "input.resize"},
		{`{"input": {"resize": "short-side-x-center-crop"}}`, "input.resize"},
		{`{"input": {"widht": 224}}`, "widht"},
		{`{"lables": "x.txt"}`, "lables"},
		{`{"labels": 3}`, "labels"},
		{`{"labels": [1, 2]}`, "labels"},
		{`{"labels": "missing.txt"}`, "labels"},
		{`{"input": {"width": 224}} {}`, "after"},
		{`[]`, "sidecar"},
	}
	dir := t.TempDir()
	for i, c := range cases {
		model := filepath.Join(dir, "m"+string(rune('a'+i))+".onnx")
		path := writeFile(t, dir, strings.TrimSuffix(filepath.Base(model), ".onnx")+".json", c.json)
		s, err := LoadSidecar(model)
		if err == nil {
			t.Errorf("%s accepted: %+v", c.json, s)
			continue
		}
		if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not name %s and %q", c.json, err, path, c.want)
		}
	}
}

func TestValidateOverrides(t *testing.T) {
	s := DefaultSidecar()
	s.Input.Color, s.Input.Resize = " bgr ", "Short-Side-300-Center-Crop"
	s.Input.Mean = []float64{104, 117, 123}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.Input.Color != BGR || s.Input.Resize != "short-side-300-center-crop" {
		t.Fatalf("not canonicalised: %+v", s.Input)
	}
	if rw, rh, _, _ := s.geometry(600, 400); rw != 450 || rh != 300 {
		t.Fatalf("short side 300: %dx%d", rw, rh)
	}
	s.Input.Std = []float64{0}
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "input.std[0]") || !strings.Contains(err.Error(), "input settings") {
		t.Fatalf("std 0 override: %v", err)
	}
}
