package demo

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/deepscope/deepscope/assets"
	"github.com/deepscope/deepscope/model"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func idxBytes(typ byte, dims []uint32, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, typ, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, d)
	}
	b.Write(data)
	return b.Bytes()
}

func gz(data []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

func TestReadIDX(t *testing.T) {
	raw := idxBytes(8, []uint32{2, 3}, []byte{1, 2, 3, 4, 5, 6})
	for name, data := range map[string][]byte{"raw": raw, "gzip": gz(raw)} {
		got, err := ReadIDX(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, &IDX{Dims: []int{2, 3}, Data: []uint8{1, 2, 3, 4, 5, 6}}) {
			t.Errorf("%s: %+v", name, got)
		}
	}
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"magic", []byte{1, 0, 8, 1, 0, 0, 0, 1, 0}, "not an IDX file"},
		{"type", idxBytes(0x0d, []uint32{1}, []byte{0, 0, 0, 0}), "element type 0x0d"},
		{"short header", []byte{0, 0}, "unexpected EOF"},
		{"short dims", []byte{0, 0, 8, 2, 0, 0, 0, 1}, "IDX dimensions: unexpected EOF"},
		{"short data", idxBytes(8, []uint32{2, 3}, []byte{1, 2}), "IDX data (6 bytes): unexpected EOF"},
		{"zero dim", idxBytes(8, []uint32{0}, nil), "empty or too large"},
		{"huge", idxBytes(8, []uint32{1 << 20, 1 << 20}, nil), "empty or too large"},
	} {
		_, err := ReadIDX(bytes.NewReader(c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	images := make([]byte, 3*28*28)
	images[28*28+5] = 200
	os.WriteFile(filepath.Join(dir, "x-images-idx3-ubyte.gz"), gz(idxBytes(8, []uint32{3, 28, 28}, images)), 0o644)
	os.WriteFile(filepath.Join(dir, "x-labels-idx1-ubyte"), idxBytes(8, []uint32{3}, []byte{0, 9, 4}), 0o644)
	d, err := Load(dir, "x")
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 3 || d.Rows != 28 || d.Cols != 28 || d.Labels[1] != 9 || d.Image(1)[5] != 200 || d.Gray(1).GrayAt(5, 0).Y != 200 {
		t.Errorf("dataset %d images %dx%d labels %v", d.Len(), d.Cols, d.Rows, d.Labels)
	}
	if s := d.Subset(2); s.Len() != 2 || len(s.Images) != 2*28*28 {
		t.Errorf("subset of %d", s.Len())
	}
	if f, err := LoadFirst(dir, "x", 2); err != nil || f.Len() != 2 || len(f.Images) != 2*28*28 || f.Image(1)[5] != 200 {
		t.Errorf("first 2: %v", err)
	}
	if f, err := LoadFirst(dir, "x", 10); err != nil || f.Len() != 3 {
		t.Errorf("first 10 of 3: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "x-labels-idx1-ubyte"), idxBytes(8, []uint32{3}, []byte{0, 10, 4}), 0o644)
	if _, err := Load(dir, "x"); err == nil || !strings.Contains(err.Error(), "label 1 is 10") {
		t.Errorf("bad label: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "x-labels-idx1-ubyte"), idxBytes(8, []uint32{2}, []byte{0, 1}), 0o644)
	if _, err := Load(dir, "x"); err == nil || !strings.Contains(err.Error(), "2 labels for 3 images") {
		t.Errorf("count mismatch: %v", err)
	}
	if _, err := Load(dir, "nope"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing split: %v", err)
	}
}

var (
	fashionOnce sync.Once
	fashion     *Dataset
)

// trainingData returns the first n Fashion-MNIST training images, or n
// synthetic images (class k: a bright bar at row 2k+4, plus noise) when the
// Debian package is not installed.
func trainingData(t *testing.T, n int) *Dataset {
	fashionOnce.Do(func() { fashion, _ = LoadFirst(DataDir, "train", 320) })
	if fashion != nil && n <= fashion.Len() {
		return fashion.Subset(n)
	}
	t.Logf("no Fashion-MNIST in %s: synthetic images", DataDir)
	r := rand.New(rand.NewSource(1))
	d := &Dataset{Rows: Side, Cols: Side, Images: make([]uint8, n*Side*Side), Labels: make([]uint8, n)}
	for i := 0; i < n; i++ {
		k := i % NumCl
		d.Labels[i] = uint8(k)
		img := d.Image(i)
		for j := range img {
			img[j] = uint8(r.Intn(60))
		}
		for x := 4; x < 24; x++ {
			img[(2*k+4)*Side+x] = 250
		}
	}
	return d
}

func TestTrainLossFalls(t *testing.T) {
	const n = 320
	data := trainingData(t, n)
	const seed = 7
	net, stats, err := Train(context.Background(), data, Config{Epochs: 1, Seed: seed, BatchSize: 32})
	if err != nil {
		t.Fatal(err)
	}
	if len(stats.BatchLoss) != n/32 || len(stats.EpochLoss) != 1 {
		t.Fatalf("%d batch losses, %d epoch losses", len(stats.BatchLoss), len(stats.EpochLoss))
	}
	// Train draws the initial weights first from its seeded generator.
	init := newNetwork(initParams(rand.New(rand.NewSource(seed))), net.Mean, net.Std)
	before, after := meanLoss(t, init, data), meanLoss(t, net, data)
	t.Logf("cross-entropy on the %d training images: %.3f before, %.3f after one epoch (batch losses %.3f)",
		data.Len(), before, after, stats.BatchLoss)
	if !(after < before-0.1) {
		t.Errorf("loss did not fall: %.3f before, %.3f after", before, after)
	}

	// The exported network computes what gorgonia computed.
	checkExportMatchesGorgonia(t, net, data)
}

// meanLoss is the cross-entropy of the exported network over data, on
// deepscope's engine.
func meanLoss(t *testing.T, net *Network, data *Dataset) float64 {
	onnx, err := net.ONNX()
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Decode(onnx, model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := model.NewTensor(1, 1, Side, Side)
	var sum float64
	for i := 0; i < data.Len(); i++ {
		fillImage(x.Data, data.Image(i), false, net.Mean, net.Std)
		a, err := m.Run(x)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := a.Get("prob")
		sum -= math.Log(float64(p.Data[data.Labels[i]]))
		a.Release()
	}
	return sum / float64(data.Len())
}

// checkExportMatchesGorgonia runs a batch through the training graph and
// through the exported ONNX model on deepscope's engine.
func checkExportMatchesGorgonia(t *testing.T, net *Network, data *Dataset) {
	const bs = 4
	params := [][]float32{net.Conv1W, net.Conv1B, net.Conv2W, net.Conv2B, net.Conv3W, net.Conv3B, net.FCW, net.FCB}
	tr, err := newTrainer(bs, params)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.vm.Close()
	xs := make([]float32, bs*Side*Side)
	for i := 0; i < bs; i++ {
		fillImage(xs[i*Side*Side:(i+1)*Side*Side], data.Image(i), false, net.Mean, net.Std)
	}
	G.Let(tr.x, tensor.New(tensor.WithShape(bs, 1, Side, Side), tensor.WithBacking(xs)))
	G.Let(tr.y, tensor.New(tensor.WithShape(bs, NumCl), tensor.WithBacking(make([]float32, bs*NumCl))))
	if err := tr.vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	logits := tr.out.Data().([]float32)

	onnx, err := net.ONNX()
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Decode(onnx, model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < bs; i++ {
		a, err := m.Run(model.FromData(xs[i*Side*Side:(i+1)*Side*Side], 1, 1, Side, Side))
		if err != nil {
			t.Fatal(err)
		}
		fc, _ := a.Get("fc")
		prob, _ := a.Get("prob")
		var sum float64
		for c := 0; c < NumCl; c++ {
			if d := math.Abs(float64(fc.Data[c] - logits[i*NumCl+c])); d > 1e-4 {
				t.Errorf("image %d class %d: engine logit %v, gorgonia %v", i, c, fc.Data[c], logits[i*NumCl+c])
			}
			sum += float64(prob.Data[c])
		}
		if math.Abs(sum-1) > 1e-5 {
			t.Errorf("image %d: probabilities sum to %v", i, sum)
		}
		a.Release()
	}
}

func TestTrainReproducible(t *testing.T) {
	data := trainingData(t, 64)
	cfg := Config{Epochs: 1, Seed: 3, BatchSize: 32}
	a, _, err := Train(context.Background(), data, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := Train(context.Background(), data, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("the same seed gave different networks")
	}
	cfg.Seed = 4
	c, _, err := Train(context.Background(), data, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(a.Conv1W, c.Conv1W) {
		t.Error("different seeds gave the same network")
	}
}

func TestTrainErrors(t *testing.T) {
	data := trainingData(t, 64)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Train(ctx, data, Config{Epochs: 1}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, _, err := Train(context.Background(), data.Subset(10), Config{}); err == nil || !strings.Contains(err.Error(), "less than one batch") {
		t.Errorf("tiny dataset: %v", err)
	}
	if _, _, err := Train(context.Background(), data, Config{BatchSize: 33}); err == nil || !strings.Contains(err.Error(), "not a multiple") {
		t.Errorf("odd batch: %v", err)
	}
	small := &Dataset{Rows: 8, Cols: 8, Images: make([]uint8, 64*64), Labels: make([]uint8, 64)}
	if _, _, err := Train(context.Background(), small, Config{}); err == nil || !strings.Contains(err.Error(), "8x8") {
		t.Errorf("8x8 images: %v", err)
	}
}

// TestCommittedModel checks the network in assets/: it loads, has the
// documented layers, its sidecar fits, and (with Debian's Fashion-MNIST
// installed) it classifies at least 90% of the first 2000 test images.
func TestCommittedModel(t *testing.T) {
	path := filepath.Join("..", "..", "assets", ModelFile)
	m, err := model.Load(path, model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	embedded, err := model.Decode(assets.DemoModel(), model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range m.Layers {
		names = append(names, l.Name+":"+l.Op+":"+model.ShapeString(l.Shape))
	}
	want := "conv1:Conv:1x16x28x28 relu1:Relu:1x16x28x28 pool1:MaxPool:1x16x14x14 " +
		"conv2:Conv:1x32x14x14 relu2:Relu:1x32x14x14 pool2:MaxPool:1x32x7x7 " +
		"conv3:Conv:1x128x7x7 relu3:Relu:1x128x7x7 gap:GlobalAveragePool:1x128x1x1 " +
		"flatten:Flatten:1x128 fc:Gemm:1x10 prob:Softmax:1x10"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("layers\n%s\nwant\n%s", got, want)
	}
	if len(embedded.Layers) != len(m.Layers) {
		t.Error("the embedded model is not the committed file")
	}
	sc, err := model.LoadSidecar(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.FitInput(m.Input().Shape); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sc.Labels(), Labels) {
		t.Errorf("labels %q", sc.Labels())
	}
	const n = 2000
	test, err := LoadFirst(DataDir, "t10k", n)
	if err != nil {
		t.Skipf("no Fashion-MNIST test set (%v); install dataset-fashion-mnist", err)
	}
	ev, err := Evaluate(m, sc, test)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("accuracy on the first %d test images: %.2f%%", n, 100*ev.Accuracy())
	if ev.Accuracy() < 0.90 {
		t.Errorf("accuracy %.2f%% on the first %d test images, want at least 90%%", 100*ev.Accuracy(), n)
	}
}
