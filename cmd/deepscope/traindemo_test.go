package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
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

// writeIDX writes an IDX file of unsigned bytes, gzipped.
func writeIDX(t *testing.T, path string, dims []uint32, data []byte) {
	var raw bytes.Buffer
	raw.Write([]byte{0, 0, 8, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&raw, binary.BigEndian, d)
	}
	raw.Write(data)
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write(raw.Bytes())
	w.Close()
	if err := os.WriteFile(path, z.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fakeFashion writes a small dataset in Fashion-MNIST's format: class k is
// a bright bar on row 2k+4.
func fakeFashion(t *testing.T, dir, split string, n int) {
	images := make([]byte, n*28*28)
	labels := make([]byte, n)
	for i := range labels {
		k := i % 10
		labels[i] = byte(k)
		for x := 4; x < 24; x++ {
			images[i*28*28+(2*k+4)*28+x] = 250
		}
	}
	writeIDX(t, filepath.Join(dir, split+"-images-idx3-ubyte.gz"), []uint32{uint32(n), 28, 28}, images)
	writeIDX(t, filepath.Join(dir, split+"-labels-idx1-ubyte.gz"), []uint32{uint32(n)}, labels)
}

// TestTrainDemoShort trains one epoch on a small dataset in Fashion-MNIST's
// format and checks the report and that the exported files load.
func TestTrainDemoShort(t *testing.T) {
	data, out := t.TempDir(), t.TempDir()
	fakeFashion(t, data, "train", 128)
	fakeFashion(t, data, "t10k", 30)
	code, stdout, stderr := trainDemo("--data", data, "--epochs", "1", "--seed", "2", "--out", out, "--eval-each-epoch")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"trained in", "1 epochs, seed 2", "test accuracy", "/30 Fashion-MNIST test images", demo.ModelFile} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q: %q", want, stdout)
		}
	}
	for _, want := range []string{"training on 128 images, 1 epochs, seed 2", "epoch 1/1: loss", "epoch 1: test accuracy"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q: %q", want, stderr)
		}
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
