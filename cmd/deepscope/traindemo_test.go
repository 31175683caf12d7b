package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deepscope/deepscope/model"
	"github.com/deepscope/deepscope/model/demo"
)

func trainDemo(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = cmdTrainDemo(args, &o, &e)
	return code, o.String(), e.String()
}

func TestTrainDemoErrors(t *testing.T) {
	code, _, errOut := trainDemo("--data", t.TempDir(), "--out", t.TempDir())
	wantUsageError(t, code, errOut, "Fashion-MNIST is not in", "dataset-fashion-mnist")
	code, _, errOut = trainDemo("--epochs", "0")
	wantUsageError(t, code, errOut, "--epochs must be at least 1")
	code, _, errOut = trainDemo("extra")
	wantUsageError(t, code, errOut, `unexpected argument "extra"`)
}

// TestTrainDemoShort trains on a few hundred images for one epoch and
// checks that the exported files load.
func TestTrainDemoShort(t *testing.T) {
	if _, err := os.Stat(filepath.Join(demo.DataDir, "t10k-labels-idx1-ubyte.gz")); err != nil {
		t.Skipf("Fashion-MNIST is not installed (%v)", err)
	}
	out := t.TempDir()
	code, stdout, stderr := trainDemo("--images", "256", "--epochs", "1", "--test-images", "100", "--seed", "2", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"trained in", "1 epochs, seed 2", "test accuracy", "/100 Fashion-MNIST test images", demo.ModelFile} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q: %q", want, stdout)
		}
	}
	if !strings.Contains(stderr, "training on 256 images, 1 epochs, seed 2") || !strings.Contains(stderr, "epoch 1/1: loss") {
		t.Errorf("stderr %q", stderr)
	}
	m, err := model.Load(filepath.Join(out, demo.ModelFile), model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := model.LoadSidecar(filepath.Join(out, demo.ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.FitInput(m.Input().Shape); err != nil || sc.Label(9) != "Ankle boot" {
		t.Errorf("sidecar: %v, label 9 %q", err, sc.Label(9))
	}
}
