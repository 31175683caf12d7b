package main

import (
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deepscope/deepscope/model"
	"github.com/deepscope/deepscope/model/fashion"
)

// copyFile copies src to dst.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestModelByName: --model takes a path, the name of a downloaded catalog
// model, the name of a shared model or "demo"; an unknown name says how to
// download models.
func TestModelByName(t *testing.T) {
	xdg, shared := t.TempDir(), t.TempDir()
	t.Setenv("XDG_CACHE_HOME", xdg)
	t.Setenv("DEEPSCOPE_SHARED", shared)
	cache, err := model.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	zoo := model.Zoo()
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(shared, "models"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The tiny test model stands in for a downloaded catalog model and for
	// a shared one, each with its sidecar (labels cat, dog, bird).
	copyFile(t, tinyModel, filepath.Join(cache, zoo[0].FileName()))
	copyFile(t, "testdata/tiny.json", model.SidecarPath(filepath.Join(cache, zoo[0].FileName())))
	copyFile(t, tinyModel, filepath.Join(shared, "models", "mytiny.onnx"))
	copyFile(t, "testdata/tiny.json", filepath.Join(shared, "models", "mytiny.json"))

	want := runOK(t, "layers", "--model", tinyModel)
	img := filepath.Join(t.TempDir(), "red.png")
	writeUniformPNG(t, img, 8, 8, color.RGBA{255, 0, 0, 255})
	wantPred := runOK(t, "predict", "--model", tinyModel, "--json", img)
	for _, name := range []string{zoo[0].Name, strings.ToUpper(zoo[0].Name), "mytiny", "mytiny.onnx"} {
		if got := runOK(t, "layers", "--model", name); got != want {
			t.Errorf("layers --model %s:\n%s\nwant the tiny model's:\n%s", name, got, want)
		}
		// The sidecar comes from the resolved path: same preprocessing and labels.
		if got := runOK(t, "predict", "--model", name, "--json", img); got != wantPred {
			t.Errorf("predict --model %s: %s, want %s", name, got, wantPred)
		}
	}

	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"unknown name", []string{"layers", "--model", "no_such_net"}, []string{"no_such_net", "deepscope models get NAME", "--model demo"}},
		{"catalog, not downloaded", []string{"predict", "--model", zoo[1].Name, img}, []string{"deepscope models get " + zoo[1].Name}},
		{"missing path", []string{"stream", "--model", "dir/none.onnx"}, []string{"dir/none.onnx", "no such file"}},
	} {
		code, stdout, stderr := deepscope(t, c.args...)
		wantUsageError(t, code, stderr, c.want...)
		if stdout != "" {
			t.Errorf("%s: stdout %q", c.name, stdout)
		}
	}
}

// TestDemoModel: --model demo is the embedded Fashion-MNIST network; on
// the first Fashion-MNIST test image (an ankle boot) it says so.
func TestDemoModel(t *testing.T) {
	out := runOK(t, "layers", "--model", "demo")
	if !strings.Contains(out, "1x1x28x28") || !strings.Contains(out, "conv1") {
		t.Errorf("layers of the demo:\n%s", out)
	}
	data, err := fashion.LoadFirst(fashion.DataDir, "t10k", 1)
	if err != nil {
		t.Skipf("no Fashion-MNIST: %v", err)
	}
	img := filepath.Join(t.TempDir(), "boot.png")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, data.Gray(0)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	preds := parsePredictions(t, runOK(t, "predict", "--model", "demo", "--json", "--top", "1", img))
	if len(preds) != 1 || len(preds[0].Top) != 1 || preds[0].Top[0].Label != "Ankle boot" || preds[0].Top[0].Prob < 0.5 {
		t.Errorf("demo on the first test image: %+v, want Ankle boot", preds)
	}
}
