package model

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Fuzz targets for the readers of untrusted files besides the ONNX loader
// (FuzzDecode): sidecars, .npy arrays and images. Their seed corpora are in
// testdata/fuzz/<name>; `go test` runs them, `make fuzz` explores.

// FuzzSidecar: no sidecar JSON makes ParseSidecar panic; an accepted one is
// valid (Validate is idempotent on it), its labels file stays inside the
// model's directory, and its settings survive a JSON round trip.
func FuzzSidecar(f *testing.F) {
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "labels.txt"), []byte("n01440764 tench, Tinca tinca\ngoldfish\n"), 0o644); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(dir), "outside.txt"), []byte("secret\n"), 0o644); err != nil {
		f.Fatal(err)
	}
	path := filepath.Join(dir, "m.json")
	f.Add([]byte(`{"name": "m", "input": {"width": 224, "height": 224, "color": "RGB", "scale": 255, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "resize": "short-side-256-center-crop"}, "labels": "labels.txt"}`))
	f.Add([]byte(`{"labels": ["a", "b"], "input": {"color": "gray", "width": 28, "height": 28}}`))
	f.Add([]byte(`{"labels": "../outside.txt"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSidecar(data, path)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("accepted sidecar fails Validate: %v", err)
		}
		in := s.Input
		if in.Width < 1 || in.Width > MaxInputSide || in.Height < 1 || in.Height > MaxInputSide {
			t.Fatalf("accepted size %dx%d", in.Width, in.Height)
		}
		for _, v := range append(slices.Clone(in.Mean), in.Std...) {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("accepted non-finite mean/std %v %v", in.Mean, in.Std)
			}
		}
		if s.LabelsFile != "" && (!filepath.IsLocal(s.LabelsFile) || s.LabelNames == nil) {
			t.Fatalf("labels file %q accepted (names %v)", s.LabelsFile, s.LabelNames)
		}
		// The settings written back as JSON parse to the same settings.
		out, err := json.Marshal(map[string]any{"name": s.Name, "input": s.Input, "labels": s.LabelNames})
		if err != nil {
			t.Fatal(err)
		}
		s2, err := ParseSidecar(out, path)
		if err != nil {
			t.Fatalf("round trip of %s: %v", out, err)
		}
		if s2.Name != s.Name || !slices.Equal(s2.LabelNames, s.LabelNames) || s2.Input.Width != in.Width || s2.Input.Height != in.Height ||
			s2.Input.Color != in.Color || s2.Input.Scale != in.Scale || s2.Input.Resize != in.Resize ||
			!slices.Equal(s2.Input.Mean, in.Mean) || !slices.Equal(s2.Input.Std, in.Std) {
			t.Fatalf("round trip changed %+v into %+v", s, s2)
		}
		// Fitting to a model's input never panics.
		_ = s.FitInput([]int{1, s.Channels(), in.Height, in.Width})
	})
}

// FuzzNpy: no bytes make DecodeNPY panic or allocate what a header claims;
// an accepted array written back with EncodeNPY reads back identical.
func FuzzNpy(f *testing.F) {
	f.Add([]byte(npyMagic + "\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := DecodeNPY(bytes.NewReader(data))
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if a.Len() > len(data) {
			t.Fatalf("%d bytes decoded into %d values", len(data), a.Len())
		}
		var buf bytes.Buffer
		if err := EncodeNPY(&buf, a); err != nil {
			t.Fatalf("writing back %v: %v", a.Shape, err)
		}
		b, err := DecodeNPY(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("reading back %v: %v", a.Shape, err)
		}
		if !slices.Equal(a.Shape, b.Shape) || a.DType != b.DType || len(a.Data) != len(b.Data) || !slices.Equal(a.Ints, b.Ints) {
			t.Fatalf("round trip: %v %v -> %v %v", a.Shape, a.DType, b.Shape, b.DType)
		}
		for i := range a.Data {
			if math.Float32bits(a.Data[i]) != math.Float32bits(b.Data[i]) {
				t.Fatalf("round trip: value %d %v -> %v", i, a.Data[i], b.Data[i])
			}
		}
	})
}

// FuzzImage: no bytes make the image path of the app (DecodeImage, then a
// sidecar's preprocessing into a network input) panic or decode an image
// beyond the limits; accepted images give a finite input tensor.
func FuzzImage(f *testing.F) {
	s := DefaultSidecar()
	s.Input.Width, s.Input.Height = 8, 8
	s.Input.Mean, s.Input.Std = []float64{0.5}, []float64{0.25}
	f.Add(pngHeader(4, 4))
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := decodeImage(bytes.NewReader(data), "fuzz.img")
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		b := img.Bounds()
		if b.Empty() || b.Dx() > MaxImageSide || b.Dy() > MaxImageSide || b.Dx()*b.Dy() > MaxImagePixels {
			t.Fatalf("accepted image bounds %v", b)
		}
		x := s.Preprocess(img)
		if !SameShape(x.Shape, []int{1, 3, 8, 8}) {
			t.Fatalf("input shape %v", x.Shape)
		}
		for _, v := range x.Data {
			if math.IsNaN(float64(v)) || v < -2.001 || v > 2.001 {
				t.Fatalf("input value %v outside (0..1 - 0.5) / 0.25", v)
			}
		}
	})
}
