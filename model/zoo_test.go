package model

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestZooEmbedded(t *testing.T) {
	zoo := Zoo()
	if len(zoo) < 10 {
		t.Fatalf("catalog has %d models", len(zoo))
	}
	z, ok := ZooLookup("SqueezeNet1.1")
	if !ok {
		t.Fatal("squeezenet1.1 not in the catalog")
	}
	want := ZooModel{
		Name: "squeezenet1.1", Path: "squeezenet/model/squeezenet1.1-7.onnx",
		SHA256: "1eeff551a67ae8d565ca33b572fc4b66e3ef357b0eb2863bb9ff47a918cc4088", Size: 4956208,
		Color: RGB, Scale: 255, Mean: []float64{0.485, 0.456, 0.406}, Std: []float64{0.229, 0.224, 0.225},
		BaseURL: "https://github.com/onnx/models/raw/main/validated/vision/classification/",
	}
	if !reflect.DeepEqual(z, want) {
		t.Errorf("squeezenet1.1 = %+v\nwant %+v", z, want)
	}
	if z.URL() != "https://github.com/onnx/models/raw/main/validated/vision/classification/squeezenet/model/squeezenet1.1-7.onnx" {
		t.Errorf("URL %s", z.URL())
	}
	if g, _ := ZooLookup("googlenet"); g.Color != BGR || g.Scale != 1 || g.Mean[0] != 103.939 {
		t.Errorf("googlenet = %+v", g)
	}
	if _, ok := ZooLookup("nope"); ok {
		t.Error("found an unknown model")
	}
	// Zoo returns a copy.
	zoo[0].Name = "changed"
	if Zoo()[0].Name == "changed" {
		t.Error("Zoo shares its slice")
	}
	// The committed copy is the shared catalog's.
	if shared := SharedModelsDir(); shared != "" {
		f, err := os.Open(filepath.Join(shared, "zoo.tsv"))
		if err != nil {
			t.Skipf("no shared catalog: %v", err)
		}
		defer f.Close()
		got, err := ParseZoo(f)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, Zoo()) {
			t.Errorf("model/zoo.tsv differs from %s/zoo.tsv", shared)
		}
	}
}

func TestZooSidecar(t *testing.T) {
	dir := t.TempDir()
	for _, z := range Zoo() {
		// The written sidecar loads, with the labels written next to it.
		path := filepath.Join(dir, z.FileName())
		if err := os.WriteFile(SidecarPath(path), z.SidecarJSON(), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ImageNetLabelsFile), ImageNetLabels(), 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := LoadSidecar(path)
		if err != nil {
			t.Fatalf("%s: %v", z.Name, err)
		}
		in := s.Input
		if in.Width != 224 || in.Height != 224 || in.Color != z.Color || in.Scale != z.Scale ||
			!reflect.DeepEqual(in.Mean, z.Mean) || !reflect.DeepEqual(in.Std, z.Std) || in.Resize != "short-side-256-center-crop" {
			t.Errorf("%s: sidecar input %+v", z.Name, in)
		}
		if len(s.LabelNames) != 1000 || s.Label(0) != "tench" || s.Label(999) != "toilet tissue" {
			t.Errorf("%s: %d labels, first %q last %q", z.Name, len(s.LabelNames), s.Label(0), s.Label(999))
		}
	}
}

func TestParseZooErrors(t *testing.T) {
	const head = "# comment\nname\tpath\tsha256\tbytes\tcolor\tscale\tmean\tstd\n"
	sha := strings.Repeat("ab", 32)
	row := func(cols ...string) string { return head + strings.Join(cols, "\t") + "\n" }
	good := row("m", "a/m.onnx", sha, "10", "RGB", "255", "0.5", "0.25")
	zs, err := ParseZoo(strings.NewReader("# url = https://example.org/zoo/<path>\n" + good))
	if err != nil || len(zs) != 1 || zs[0].URL() != "https://example.org/zoo/a/m.onnx" || zs[0].Std[0] != 0.25 {
		t.Fatalf("good catalog: %+v, %v", zs, err)
	}
	cases := []struct{ text, want string }{
		{row("m", "a/m.onnx", sha, "10", "RGB", "255", "0.5"), "line 3: want 8 tab-separated columns"},
		{row("m", "a/m.onnx", "xyz", "10", "RGB", "255", "0.5", "1"), "sha256 \"xyz\" is not 64 hex digits"},
		{row("m", "a/m.onnx", sha, "-4", "RGB", "255", "0.5", "1"), "bytes \"-4\" is not a positive integer"},
		{row("m", "a/m.onnx", sha, "10", "CMYK", "255", "0.5", "1"), "unknown colour"},
		{row("m", "a/m.onnx", sha, "10", "RGB", "x", "0.5", "1"), "scale \"x\""},
		{row("m", "a/m.onnx", sha, "10", "RGB", "255", "0.5,0.5", "1"), "mean: want 1 or 3 values"},
		{row("m", "a/m.onnx", sha, "10", "RGB", "255", "0.5", "0"), "std[0]: must not be 0"},
		{row("m", "a/m.onnx", sha, "10", "RGB", "255", "a,b", "1"), "mean: \"a,b\" is not a list of numbers"},
		{row("bad name", "a/m.onnx", sha, "10", "RGB", "255", "0", "1"), `name "bad name"`},
		{row("m", "../m.onnx", sha, "10", "RGB", "255", "0", "1"), "bad path"},
		{good + strings.Join([]string{"M", "b.onnx", sha, "1", "GRAY", "1", "0", "1"}, "\t") + "\n", `model "M" is listed twice`},
	}
	for _, c := range cases {
		_, err := ParseZoo(strings.NewReader(c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.text[len(head):], err, c.want)
		}
	}
}
