package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runOpt runs one of the optimization commands and returns its exit
// status, stdout and stderr.
func runOpt(f func([]string, io.Writer, io.Writer) int, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := f(args, &out, &errb)
	return code, out.String(), errb.String()
}

// testPNG writes a w x h test picture and returns its path.
func testPNG(t *testing.T, w, h int, seed uint8) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x*20) + seed, uint8(y * 25), uint8((x + y) * 9 * int(seed+1)), 255})
		}
	}
	path := filepath.Join(t.TempDir(), "in.png")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

// pngSize decodes a PNG's size.
func pngSize(t *testing.T, path string) (int, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Width, cfg.Height
}

func TestOptimizationCommands(t *testing.T) {
	dir := t.TempDir()
	photo := testPNG(t, 20, 14, 3)
	other := testPNG(t, 12, 12, 40)
	out := func(name string) string { return filepath.Join(dir, name) }
	for _, tc := range []struct {
		name   string
		cmd    func([]string, io.Writer, io.Writer) int
		args   []string
		stdout string // a substring
		w, h   int    // of the PNG written to the last --out
	}{
		{"optimize unit", cmdOptimize, []string{"--model", tinyModel, "--layer", "relu1", "--unit", "2", "--steps", "5", "--out", out("am.png")},
			"relu1 unit 2, activation", 8, 8},
		{"optimize centre", cmdOptimize, []string{"--model", tinyModel, "--layer", "conv1", "--unit", "0", "--at", "center", "--preset", "yosinski1", "--steps", "5", "--out", out("c.png")},
			"conv1 unit 0 at 4,4", 8, 8},
		{"optimize class, diversity", cmdOptimize, []string{"--model", tinyModel, "--class", "1", "--diversity", "3", "--steps", "4", "--out", out("d.png")},
			"class 1 (dog), logit", 0, 0},
		{"dream", cmdDream, []string{"--model", tinyModel, "--layer", "relu1", "--steps", "2", "--octaves", "2", "--out", out("dream.png"), photo},
			"2 octaves", 16, 11},
		{"dream noise", cmdDream, []string{"--model", tinyModel, "--layer", "conv1", "--unit", "1", "--steps", "2", "--noise", "--size", "12", "--out", out("dn.png")},
			"on noise, 12x12", 12, 12},
		{"classviz", cmdClassviz, []string{"--model", tinyModel, "--class", "2", "--steps", "10", "--out", out("cv.png")},
			"class model of class 2 (bird)", 8, 8},
		{"invert", cmdInvert, []string{"--model", tinyModel, "--layer", "relu1", "--steps", "10", "--out", out("inv.png"), photo},
			"normalized feature reconstruction error", 8, 8},
		{"fool", cmdFool, []string{"--model", tinyModel, "--class", "0", "--confidence", "0.6", "--out", out("fool.png")},
			"fooling image for class 0 (cat)", 8, 8},
		{"adversarial", cmdAdversarial, []string{"--model", tinyModel, "--epsilon", "8/255", "--out", out("adv.png"), photo},
			"PGD, ε 0.03137 (8.00 levels)", 0, 0},
		{"style", cmdStyle, []string{"--model", tinyModel, "--content", photo, "--style", other, "--steps", "3", "--out", out("s.png")},
			"in the style of", 8, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runOpt(tc.cmd, tc.args...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if !strings.Contains(stdout, tc.stdout) {
				t.Errorf("stdout %q lacks %q", stdout, tc.stdout)
			}
			path := tc.args[len(tc.args)-1]
			for i, a := range tc.args {
				if a == "--out" {
					path = tc.args[i+1]
				}
			}
			w, h := pngSize(t, path)
			if tc.w > 0 && (w != tc.w || h != tc.h) {
				t.Errorf("%s is %dx%d, want %dx%d", path, w, h, tc.w, tc.h)
			}
		})
	}
	// Frames as the image forms.
	frames := filepath.Join(dir, "frames")
	if code, _, stderr := runOpt(cmdOptimize, "--model", tinyModel, "--layer", "relu1", "--unit", "0", "--steps", "6",
		"--every", "3", "--frames", frames, "--out", out("f.png")); code != 0 {
		t.Fatalf("frames: %s", stderr)
	}
	for _, name := range []string{"step-0003.png", "step-0006.png"} {
		if _, err := os.Stat(filepath.Join(frames, name)); err != nil {
			t.Error(err)
		}
	}
	// The same seed gives the same image.
	a, b := out("s1.png"), out("s2.png")
	runOpt(cmdOptimize, "--model", tinyModel, "--layer", "relu1", "--unit", "1", "--steps", "4", "--seed", "9", "--out", a)
	runOpt(cmdOptimize, "--model", tinyModel, "--layer", "relu1", "--unit", "1", "--steps", "4", "--seed", "9", "--out", b)
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	if !bytes.Equal(da, db) || len(da) == 0 {
		t.Error("--seed 9 twice gave different images")
	}
}

func TestOptimizationCommandErrors(t *testing.T) {
	photo := testPNG(t, 10, 10, 1)
	out := filepath.Join(t.TempDir(), "x.png")
	for _, tc := range []struct {
		cmd  func([]string, io.Writer, io.Writer) int
		args []string
		want string
	}{
		{cmdOptimize, []string{"--model", tinyModel, "--layer", "relu1", "--unit", "1"}, "--out is required"},
		{cmdOptimize, []string{"--model", tinyModel, "--layer", "relu1", "--out", out}, "--layer needs --unit"},
		{cmdOptimize, []string{"--model", tinyModel, "--out", out}, "either --layer"},
		{cmdOptimize, []string{"--model", tinyModel, "--layer", "relu1", "--unit", "9", "--out", out}, "unit 9 is out of range"},
		{cmdOptimize, []string{"--model", tinyModel, "--class", "1", "--preset", "fancy", "--out", out}, "unknown preset"},
		{cmdOptimize, []string{"--model", tinyModel, "--class", "1", "--out", out, photo}, "takes no IMAGE"},
		{cmdOptimize, []string{"--model", tinyModel, "--layer", "logits", "--unit", "1", "--at", "center", "--out", out}, "two spatial axes"},
		{cmdDream, []string{"--model", tinyModel, "--out", out, photo}, "--layer is required"},
		{cmdDream, []string{"--model", tinyModel, "--layer", "relu1", "--out", out}, "no input"},
		{cmdClassviz, []string{"--model", tinyModel, "--out", out}, "--class C is required"},
		{cmdInvert, []string{"--model", tinyModel, "--layer", "nope", "--out", out, photo}, "no layer \"nope\""},
		{cmdFool, []string{"--model", tinyModel, "--class", "5", "--out", out}, "class 5 is out of range"},
		{cmdAdversarial, []string{"--model", tinyModel, "--epsilon", "2/0", "--out", out, photo}, "--epsilon"},
		{cmdAdversarial, []string{"--model", tinyModel, "--method", "cw", "--out", out, photo}, "--method"},
		{cmdStyle, []string{"--model", tinyModel, "--content", photo, "--out", out}, "are required"},
	} {
		code, stdout, stderr := runOpt(tc.cmd, tc.args...)
		if code != 2 || stdout != "" || !strings.HasPrefix(stderr, "deepscope: ") || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q (want %q)", tc.args, code, stdout, stderr, tc.want)
		}
	}
	if code, stdout, _ := runOpt(cmdOptimize, "-h"); code != 0 || !strings.Contains(stdout, "-preset") {
		t.Errorf("-h: exit %d, %q", code, stdout)
	}
}
