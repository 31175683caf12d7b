package main

import (
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/deepscope/deepscope/model"
	"github.com/deepscope/deepscope/vis"
)

// --method all writes every method's PNG and raw map plus the contact
// sheet, which shows the input and every method.
func TestRenderAll(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "img.png")
	writeUniformPNG(t, img, 8, 8, color.RGBA{200, 40, 90, 255})
	out := filepath.Join(dir, "vis.png")
	stdout := runOK(t, "render", "--model", tinyModel, "--method", "all", "--class", "1", "--out", out,
		"--npy", filepath.Join(dir, "raw.npy"), "--samples", "3", "--steps", "4", img)
	for _, name := range vis.Names() {
		png := filepath.Join(dir, "vis-"+name+".png")
		if !fileExists(png) {
			t.Errorf("%s was not written; stdout:\n%s", png, stdout)
		}
		raw := readNPY(t, filepath.Join(dir, "raw-"+name+".npy"))
		if raw.DType != model.Float32 || (raw.Rank() != 2 && raw.Rank() != 3) {
			t.Errorf("raw-%s.npy: %v", name, raw)
		}
		if !strings.Contains(stdout, "wrote "+png+": "+name+" of class 1 (dog), score ") {
			t.Errorf("stdout does not report %s:\n%s", png, stdout)
		}
	}
	if strings.Contains(stdout, "skipped") {
		t.Errorf("a method was skipped on tiny.onnx:\n%s", stdout)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheet, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// 13 tiles (input + 12 methods) of 8x8 enlarged to 128: 4 columns, 4 rows.
	if b := sheet.Bounds(); b.Dx() != 8+4*136 || b.Dy() != 8+4*(128+18+8) {
		t.Errorf("contact sheet is %dx%d", b.Dx(), b.Dy())
	}
}

// One method: the PNG is the network input's size, the raw map the
// method's own (3xHxW for gradients, the CAM layer's grid for Grad-CAM).
func TestRenderOne(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "img.png")
	writeUniformPNG(t, img, 10, 10, color.RGBA{20, 140, 90, 255})
	for _, c := range []struct {
		args  []string
		shape []int
		desc  string
	}{
		{[]string{"--method", "saliency", "--class", "2", "--mode", "norm"}, []int{3, 8, 8}, "saliency of class 2 (bird)"},
		{[]string{"--method", "gradcam", "--class", "0", "--colormap", "jet"}, []int{4, 4}, "gradcam of class 0 (cat), score"},
		{[]string{"--method", "gradcam", "--class", "0", "--cam-layer", "conv1"}, []int{8, 8}, "at layer conv1"},
		{[]string{"--method", "guided", "--layer", "conv1", "--unit", "3", "--at", "max"}, []int{3, 8, 8}, "guided of conv1 unit 3 at max"},
		{[]string{"--method", "occlusion", "--layer", "pool1", "--unit", "0", "--at", "1,2", "--patch", "4", "--stride", "2"}, []int{3, 3}, "occlusion of pool1 unit 0 at 1,2"},
	} {
		out, npy := filepath.Join(dir, "out.png"), filepath.Join(dir, "raw.npy")
		args := append([]string{"render", "--model", tinyModel, "--out", out, "--npy", npy, img}, c.args...)
		stdout := runOK(t, args...)
		if !strings.Contains(stdout, c.desc) {
			t.Errorf("%v: stdout %q does not contain %q", c.args, stdout, c.desc)
		}
		if raw := readNPY(t, npy); !model.SameShape(raw.Shape, c.shape) {
			t.Errorf("%v: raw map %v, want %v", c.args, raw.Shape, c.shape)
		}
		f, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		pic, err := png.Decode(f)
		f.Close()
		if err != nil || pic.Bounds().Dx() != 8 || pic.Bounds().Dy() != 8 {
			t.Errorf("%v: PNG %v, %v; want 8x8", c.args, pic.Bounds(), err)
		}
	}
	// --input-npy instead of an image.
	x := filepath.Join(dir, "x.npy")
	if err := model.WriteNPY(x, model.NewTensor(3, 8, 8)); err != nil {
		t.Fatal(err)
	}
	runOK(t, "render", "--model", tinyModel, "--method", "ig", "--class", "1", "--out", filepath.Join(dir, "ig.png"), "--input-npy", x)
}

func TestRenderBadInput(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "img.png")
	writeUniformPNG(t, img, 8, 8, color.RGBA{1, 2, 3, 255})
	out := filepath.Join(dir, "out.png")
	base := []string{"render", "--model", tinyModel, "--out", out}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--class", "1", img}, []string{"--method is required"}},
		{[]string{"--method", "lime", "--class", "1", img}, []string{"unknown method", "gradcam++"}},
		{[]string{"--method", "saliency", img}, []string{"--class C or --layer L --unit U"}},
		{[]string{"--method", "saliency", "--class", "1", "--layer", "conv1", "--unit", "0", img}, []string{"either --class"}},
		{[]string{"--method", "saliency", "--layer", "conv1", img}, []string{"--layer needs --unit"}},
		{[]string{"--method", "saliency", "--class", "1", "--at", "max", img}, []string{"--at applies to --layer"}},
		{[]string{"--method", "saliency", "--layer", "conv1", "--unit", "0", "--at", "top", img}, []string{`--at "top"`}},
		{[]string{"--method", "saliency", "--layer", "conv1", "--unit", "0", "--at", "9,0", img}, []string{"outside conv1's 8x8"}},
		{[]string{"--method", "saliency", "--layer", "conv1", "--unit", "4", img}, []string{"unit 4 is out of range", "4 channels"}},
		{[]string{"--method", "saliency", "--class", "3", img}, []string{"class 3 is out of range", "3 classes"}},
		{[]string{"--method", "saliency", "--class", "1", "--mode", "bright", img}, []string{`--mode "bright"`}},
		{[]string{"--method", "gradcam", "--class", "1", "--colormap", "rainbow", img}, []string{`unknown colormap "rainbow"`}},
		{[]string{"--method", "gradcam", "--class", "1", "--alpha", "2", img}, []string{"--alpha 2"}},
		{[]string{"--method", "gradcam", "--class", "1", "--cam-layer", "convX", img}, []string{"no layer \"convX\""}},
		{[]string{"--method", "gradcam", "--class", "1", "--cam-layer", "gap", img}, []string{"gradcam", "H*W > 1"}},
		{[]string{"--method", "occlusion", "--class", "1", "--stride", "0", img}, []string{"--stride must be at least 1"}},
		{[]string{"--method", "saliency", "--class", "1"}, []string{"no input"}},
		{[]string{"--method", "saliency", "--class", "1", img, img}, []string{"2 images given"}},
	} {
		code, _, stderr := deepscope(t, append(slices.Clone(base), c.args...)...)
		wantUsageError(t, code, stderr, c.want...)
	}
	// Missing --out.
	code, _, stderr := deepscope(t, "render", "--model", tinyModel, "--method", "cam", "--class", "0", img)
	wantUsageError(t, code, stderr, "--out is required")
}
