package camera

import (
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/deepscope/deepscope/model"
	"gocv.io/x/gocv"
	"google.golang.org/protobuf/encoding/protowire"
)

// sharedDir is the shared data directory: $DEEPSCOPE_SHARED, default
// ../shared from the repository root.
func sharedDir() string {
	if d := os.Getenv("DEEPSCOPE_SHARED"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "shared")
}

// sharedFile returns a file of the shared data, skipping the test when it
// is absent.
func sharedFile(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(sharedDir(), rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared data %s absent: %v", p, err)
	}
	return p
}

// A minimal ONNX writer (field numbers of onnx.proto3) for a tiny network
// that makes the pipeline tests fast.

func pbBytes(b []byte, num protowire.Number, v []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), v)
}

func pbVarint(b []byte, num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), v)
}

func pbValue(name string, dims []int64) []byte {
	var shape []byte
	for _, d := range dims {
		shape = pbBytes(shape, 1, pbVarint(nil, 1, uint64(d)))
	}
	tt := pbBytes(pbVarint(nil, 1, 1), 2, shape) // elem_type FLOAT
	return pbBytes(pbBytes(nil, 1, []byte(name)), 2, pbBytes(nil, 1, tt))
}

func pbTensor(name string, dims []int64, data []float32) []byte {
	var b []byte
	for _, d := range dims {
		b = pbVarint(b, 1, uint64(d))
	}
	b = pbVarint(b, 2, 1) // FLOAT
	b = pbBytes(b, 8, []byte(name))
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return pbBytes(b, 9, raw)
}

func pbNode(name, op string, in, out []string, ints map[string][]int64) []byte {
	var b []byte
	for _, s := range in {
		b = pbBytes(b, 1, []byte(s))
	}
	for _, s := range out {
		b = pbBytes(b, 2, []byte(s))
	}
	b = pbBytes(b, 3, []byte(name))
	b = pbBytes(b, 4, []byte(op))
	for k, v := range ints {
		a := pbBytes(nil, 1, []byte(k))
		for _, x := range v {
			a = pbVarint(a, 8, uint64(x))
		}
		b = pbBytes(b, 5, pbVarint(a, 20, 7)) // INTS
	}
	return b
}

// tinyLayers are the layers of tinyModel after its input "x".
var tinyLayers = []string{"conv", "relu", "gap", "logits"}

// tinyModel is x[1,3,32,32] -> Conv(4 filters 3x3, pad 1) -> Relu ->
// GlobalAveragePool -> Flatten, with its default sidecar fitted.
func tinyModel(t testing.TB) (*model.Model, *model.Sidecar) {
	t.Helper()
	w := make([]float32, 4*3*3*3)
	for i := range w {
		w[i] = float32(i%7)/7 - 0.4
	}
	var g []byte
	g = pbBytes(g, 1, pbNode("conv", "Conv", []string{"x", "w", "b"}, []string{"conv"}, map[string][]int64{"pads": {1, 1, 1, 1}}))
	g = pbBytes(g, 1, pbNode("relu", "Relu", []string{"conv"}, []string{"relu"}, nil))
	g = pbBytes(g, 1, pbNode("gap", "GlobalAveragePool", []string{"relu"}, []string{"gap"}, nil))
	g = pbBytes(g, 1, pbNode("flatten", "Flatten", []string{"gap"}, []string{"logits"}, nil))
	g = pbBytes(g, 2, []byte("tiny"))
	g = pbBytes(g, 5, pbTensor("w", []int64{4, 3, 3, 3}, w))
	g = pbBytes(g, 5, pbTensor("b", []int64{4}, []float32{0.1, -0.1, 0.2, 0}))
	g = pbBytes(g, 11, pbValue("x", []int64{1, 3, 32, 32}))
	g = pbBytes(g, 12, pbValue("logits", nil))
	var mb []byte
	mb = pbVarint(mb, 1, 8)
	mb = pbBytes(mb, 8, pbVarint(nil, 2, 13))
	mb = pbBytes(mb, 7, g)
	m, err := model.Decode(mb, model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sc := model.DefaultSidecar()
	if err := sc.FitInput(m.Input().Shape); err != nil {
		t.Fatal(err)
	}
	return m, sc
}

// solid returns a w x h image of one colour.
func solid(w, h int, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

func writePNG(t testing.TB, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

func writeJPEG(t testing.TB, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
}

// videoColor is the colour of frame i of writeVideo's videos: red counts
// frames in steps of 20, so a decoded frame tells its number despite JPEG
// noise.
func videoColor(i int) color.RGBA {
	return color.RGBA{uint8(20 * i), 100, 200, 255}
}

// writeVideo writes an MJPG .avi of n frames of w x h at fps, frame i
// filled with videoColor(i).
func writeVideo(t testing.TB, path string, n, w, h int, fps float64) {
	t.Helper()
	configureOpenCV()
	vw, err := gocv.VideoWriterFile(path, "MJPG", fps, w, h, true)
	if err != nil {
		t.Fatal(err)
	}
	defer vw.Close()
	if !vw.IsOpened() {
		t.Fatalf("cannot write %s", path)
	}
	for i := range n {
		c := videoColor(i)
		m := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(float64(c.B), float64(c.G), float64(c.R), 0), h, w, gocv.MatTypeCV8UC3)
		if err := vw.Write(m); err != nil {
			t.Fatal(err)
		}
		m.Close()
	}
}

// frameNumber reads back the frame number from a videoColor pixel.
func frameNumber(img *image.RGBA) int {
	return int(math.Round(float64(img.Pix[0]) / 20))
}
