package main

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/deepscope/deepscope/model"
	"github.com/deepscope/deepscope/vis"
)

// evalInput writes a varied 1x3x8x8 network input for tiny.onnx as .npy.
func evalInput(t *testing.T, dir, name string, k int) (string, *model.Tensor) {
	t.Helper()
	x := model.NewTensor(1, 3, 8, 8)
	for i := range x.Data {
		x.Data[i] = float32((i*(7+k))%23-11) / 6
	}
	path := filepath.Join(dir, name)
	if err := model.WriteNPY(path, x); err != nil {
		t.Fatal(err)
	}
	return path, x
}

// tableRow returns the fields of the first line of out starting with
// name followed by a space, after the line containing header.
func tableRow(t *testing.T, out, header, name string) []string {
	t.Helper()
	_, rest, ok := strings.Cut(out, header)
	if !ok {
		t.Fatalf("no %q in:\n%s", header, out)
	}
	for _, line := range strings.Split(rest, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == name {
			return f[1:]
		}
	}
	t.Fatalf("no row %q after %q in:\n%s", name, header, out)
	return nil
}

// The printed AUCs and correlations are those of the vis functions on the
// same input, and the probability is the class's softmax.
func TestEvaluateMethodList(t *testing.T) {
	dir := t.TempDir()
	npy, x := evalInput(t, dir, "x.npy", 0)
	out := runOK(t, "evaluate", "--model", tinyModel, "--method", "saliency,guided", "--class", "2", "--steps", "4", "--input-npy", npy)

	m, err := model.Load(tinyModel, model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := vis.ClassTarget(m, 2)
	if err != nil {
		t.Fatal(err)
	}
	r := &vis.Request{Model: m, Input: x, Target: tg}
	probs, err := classProbs(m, x, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("class 2 (bird), probability %.4f\n", probs[2]); !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	sal, _ := vis.Lookup("saliency")
	mp, err := sal.Compute(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := vis.PixelSaliency(mp)
	if err != nil {
		t.Fatal(err)
	}
	cv, err := r.DeletionInsertion(context.Background(), ps, vis.CurveOptions{Steps: 4})
	if err != nil {
		t.Fatal(err)
	}
	// Deletion ends with the all-zero input: its class-2 probability.
	zero := model.NewTensor(1, 3, 8, 8)
	pz, err := classProbs(m, zero, false)
	if err != nil {
		t.Fatal(err)
	}
	if d := cv.Deletion[4] - pz[2]; d > 1e-6 || d < -1e-6 {
		t.Errorf("deletion ends at %g, the zero input's probability is %g", cv.Deletion[4], pz[2])
	}
	row := tableRow(t, out, "METHOD", "saliency")
	if want := []string{fmt.Sprintf("%.4f", cv.DeletionAUC), fmt.Sprintf("%.4f", cv.InsertionAUC)}; row[0] != want[0] || row[1] != want[1] {
		t.Errorf("saliency row %v, want AUCs %v", row, want)
	}
	for _, name := range []string{"guided", "random"} {
		if len(tableRow(t, out, "METHOD", name)) < 2 {
			t.Errorf("%s row malformed:\n%s", name, out)
		}
	}

	guided, _ := vis.Lookup("guided")
	res, err := vis.ModelRandomization(context.Background(), r, []vis.Method{sal, guided}, vis.RandomizationOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k, layer := range []string{"logits", "conv1"} {
		if res.Layers[k] != layer {
			t.Fatalf("cascade layers %v, want logits then conv1", res.Layers)
		}
		abs := tableRow(t, out, "of |map|", layer)
		signed := tableRow(t, out, "of the signed map", layer)
		for j := range 2 {
			if abs[j] != fmt.Sprintf("%.3f", res.Abs[k][j]) || signed[j] != fmt.Sprintf("%.3f", res.Signed[k][j]) {
				t.Errorf("row %s, %s: abs %v signed %v, want %.3f and %.3f", layer, res.Methods[j], abs, signed, res.Abs[k][j], res.Signed[k][j])
			}
		}
	}
}

// With several inputs the mean table averages the per-input AUCs; with
// --method all every method gets a row, and --depth cuts the cascade.
func TestEvaluateAllMean(t *testing.T) {
	dir := t.TempDir()
	var args []string
	for k := range 2 {
		path := filepath.Join(dir, fmt.Sprintf("img%d.png", k))
		writeGradientPNG(t, path, k)
		args = append(args, path)
	}
	out := runOK(t, append([]string{"evaluate", "--model", tinyModel, "--method", "all", "--class", "1", "--steps", "2", "--depth", "1"}, args...)...)
	if strings.Contains(out, "skipped") || strings.Contains(out, "conv1 ") {
		t.Errorf("a method was skipped or the cascade went past --depth 1:\n%s", out)
	}
	parts := strings.Split(out, "== ")
	if len(parts) != 4 {
		t.Fatalf("want two inputs and a mean section:\n%s", out)
	}
	for _, name := range append(vis.Names(), "random") {
		var sum [2]float64
		for _, p := range parts[1:3] {
			row := tableRow(t, p, "METHOD", name)
			for i := range 2 {
				v, err := strconv.ParseFloat(row[i], 64)
				if err != nil {
					t.Fatal(err)
				}
				sum[i] += v
			}
		}
		mean := tableRow(t, parts[3], "METHOD", name)
		for i := range 2 {
			v, _ := strconv.ParseFloat(mean[i], 64)
			if d := v - sum[i]/2; d > 1e-4 || d < -1e-4 {
				t.Errorf("%s: mean %s, per-input values sum to %g", name, mean[i], sum[i])
			}
		}
	}
	if !strings.Contains(parts[3], "logits") {
		t.Errorf("no mean sanity table:\n%s", parts[3])
	}
}

func TestEvaluateErrors(t *testing.T) {
	dir := t.TempDir()
	npy, _ := evalInput(t, dir, "x.npy", 1)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--method", "saliency", "--input-npy", npy}, "--class C is required"},
		{[]string{"--class", "1", "--input-npy", npy}, "--method is required"},
		{[]string{"--method", "nope", "--class", "1", "--input-npy", npy}, `unknown method "nope"`},
		{[]string{"--method", "saliency,nope", "--class", "1", "--input-npy", npy}, `unknown method "nope"`},
		{[]string{"--method", "saliency", "--class", "5", "--input-npy", npy}, "class 5 is out of range"},
		{[]string{"--method", "saliency", "--class", "1", "--steps", "0", "--input-npy", npy}, "--steps must be at least 1"},
		{[]string{"--method", "saliency", "--class", "1", "--curves=false", "--sanity=false", "--input-npy", npy}, "nothing to do"},
	} {
		code, _, stderr := deepscope(t, append([]string{"evaluate", "--model", tinyModel}, c.args...)...)
		wantUsageError(t, code, stderr, c.want)
	}
}

// writeGradientPNG writes an 8x8 image whose colours vary with position and k.
func writeGradientPNG(t *testing.T, path string, k int) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for y := range 8 {
		for x := range 8 {
			img.Set(x, y, color.RGBA{uint8(30 * x), uint8(25*y + 40*k), uint8(200 - 20*x - 5*y), 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}
