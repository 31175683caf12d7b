package vis

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/deepscope/deepscope/model"
)

var update = flag.Bool("update", false, "rewrite the golden images in testdata/golden")

// golden compares img with testdata/golden/name.png (each channel within
// 1 level, for floating-point differences across machines), or rewrites
// it with -update.
func golden(t *testing.T, name string, img image.Image) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".png")
	if *update {
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (run go test ./vis -run %s -update to create it)", err, t.Name())
	}
	defer f.Close()
	want, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if want.Bounds() != img.Bounds() {
		t.Fatalf("%s: size %v, golden %v", name, img.Bounds(), want.Bounds())
	}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			g := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			w := color.RGBAModel.Convert(want.At(x, y)).(color.RGBA)
			if diff(g.R, w.R) > 1 || diff(g.G, w.G) > 1 || diff(g.B, w.B) > 1 || g.A != w.A {
				t.Fatalf("%s: pixel %d,%d is %v, golden %v (-update rewrites the golden image after a deliberate change)", name, x, y, g, w)
			}
		}
	}
}

func diff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

// testInputMap is a smooth signed 3 x 12 x 16 map with one sharp peak.
func testInputMap() *Map {
	d := model.NewTensor(3, 12, 16)
	for c := range 3 {
		for y := range 12 {
			for x := range 16 {
				d.Data[(c*12+y)*16+x] = float32(math.Sin(float64(x)/3+float64(c)) * math.Cos(float64(y)/4-float64(c)))
			}
		}
	}
	d.Data[5*16+9] = 3 // a peak in the red channel
	return &Map{Method: "test", Kind: InputMap, Data: d, Height: 12, Width: 16, Mode: ModeGray}
}

// testBase is a 12 x 16 picture to blend heat maps over.
func testBase() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 16, 12))
	for y := range 12 {
		for x := range 16 {
			img.Set(x, y, color.RGBA{uint8(16 * x), uint8(20 * y), 200, 255})
		}
	}
	return img
}

func TestRenderModesGolden(t *testing.T) {
	m := testInputMap()
	for _, mode := range Modes() {
		img, err := Render(m, nil, Style{Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "mode-"+mode, img)
	}
	img, err := Render(m, nil, Style{}) // the map's default: gray
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "mode-gray", img)
	bgr, err := Render(m, nil, Style{Mode: ModeRaw, BGR: true})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := Render(m, nil, Style{Mode: ModeRaw})
	if p, q := bgr.RGBAAt(9, 5), raw.RGBAAt(9, 5); p.B != q.R || p.R != q.B {
		t.Errorf("BGR raw pixel %v is not RGB %v swapped", p, q)
	}
}

func TestRenderModeValues(t *testing.T) {
	// One channel: raw centres 0 on gray and maps ±max to 0 and 255; gray
	// shows |v| / max; norm stretches min..max to 0..255.
	d := model.FromData([]float32{-2, -1, 0, 1, 2, 0.5}, 1, 2, 3)
	m := &Map{Kind: InputMap, Data: d, Height: 2, Width: 3}
	for mode, want := range map[string][]uint8{
		ModeRaw:  {0, 64, 128, 191, 255, 159},
		ModeGray: {255, 128, 0, 128, 255, 64},
		ModeNorm: {255, 128, 0, 128, 255, 64},
	} {
		img, err := Render(m, nil, Style{Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range want {
			if p := img.Pix[4*i]; diff(p, w) > 1 || img.Pix[4*i+1] != p || img.Pix[4*i+3] != 255 {
				t.Errorf("%s: pixel %d = %v, want gray %d", mode, i, img.Pix[4*i:4*i+4], w)
			}
		}
	}
	// norm is the L2 norm over channels: (3, 4) has norm 5.
	d = model.FromData([]float32{3, 0, 4, 0}, 2, 1, 2)
	img, _ := Render(&Map{Kind: InputMap, Data: d, Height: 1, Width: 2}, nil, Style{Mode: ModeNorm})
	if img.Pix[0] != 255 || img.Pix[4] != 0 {
		t.Errorf("norm of (3,4) and (0,0): %v", img.Pix)
	}
	if _, err := Render(m, nil, Style{Mode: "fancy"}); err == nil {
		t.Error("unknown mode accepted")
	}
	four := &Map{Kind: InputMap, Data: model.NewTensor(4, 2, 2), Height: 2, Width: 2}
	if _, err := Render(four, nil, Style{Mode: ModeRaw}); err == nil {
		t.Error("raw of 4 channels accepted")
	}
}

func TestGaussianBlur(t *testing.T) {
	// An impulse becomes the normalised kernel's outer product; the total
	// is kept away from the borders.
	const n, sigma = 41, 4.0
	v := make([]float64, n*n)
	v[20*n+20] = 1
	gaussianBlur(v, n, n, sigma)
	norm := 0.0
	for i := -16; i <= 16; i++ {
		norm += math.Exp(-float64(i*i) / (2 * sigma * sigma))
	}
	k := func(d int) float64 { return math.Exp(-float64(d*d)/(2*sigma*sigma)) / norm }
	for _, p := range [][2]int{{20, 20}, {20, 24}, {17, 29}, {36, 20}} {
		if got, want := v[p[0]*n+p[1]], k(p[0]-20)*k(p[1]-20); math.Abs(got-want) > 1e-12 {
			t.Errorf("blurred impulse at %v = %g, want %g", p, got, want)
		}
	}
	if v[3*n+20] != 0 {
		t.Errorf("the kernel reaches beyond radius 16: %g", v[3*n+20])
	}
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	if math.Abs(sum-1) > 1e-12 {
		t.Errorf("blur changed the total to %g", sum)
	}
	// Reflect-101 border: an impulse in the corner folds back onto itself.
	v = make([]float64, 25)
	v[0] = 1
	gaussianBlur(v, 5, 5, 1)
	if !(v[0] > v[1] && v[1] > v[2] && math.Abs(v[1]-v[5]) < 1e-15) {
		t.Errorf("corner impulse blurred to %v", v)
	}
}

// TestGaussianBlurDirect: gaussianBlur equals, bit for bit, the direct
// separable sums over reflected taps (rows first, taps in order) on random
// planes, small ones whose every pixel is near a border included.
func TestGaussianBlurDirect(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	reflect := func(i, n int) int {
		for n > 1 && (i < 0 || i >= n) {
			if i < 0 {
				i = -i
			} else {
				i = 2*(n-1) - i
			}
		}
		if n == 1 {
			return 0
		}
		return i
	}
	for _, tc := range []struct {
		h, w  int
		sigma float64
	}{{1, 1, 1}, {2, 3, 0.5}, {5, 5, 1}, {7, 4, 2}, {31, 40, 1}, {224, 224, 0.5}} {
		v := make([]float64, tc.h*tc.w)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		r := int(math.Round(4 * tc.sigma))
		k := make([]float64, 2*r+1)
		sum := 0.0
		for i := range k {
			d := float64(i - r)
			k[i] = math.Exp(-d * d / (2 * tc.sigma * tc.sigma))
			sum += k[i]
		}
		for i := range k {
			k[i] /= sum
		}
		tmp, want := make([]float64, len(v)), make([]float64, len(v))
		for y := range tc.h {
			for x := range tc.w {
				s := 0.0
				for i, kv := range k {
					s += kv * v[y*tc.w+reflect(x+i-r, tc.w)]
				}
				tmp[y*tc.w+x] = s
			}
		}
		for y := range tc.h {
			for x := range tc.w {
				s := 0.0
				for i, kv := range k {
					s += kv * tmp[reflect(y+i-r, tc.h)*tc.w+x]
				}
				want[y*tc.w+x] = s
			}
		}
		gaussianBlur(v, tc.h, tc.w, tc.sigma)
		for i := range v {
			if v[i] != want[i] {
				t.Fatalf("%dx%d σ %g: pixel %d = %g, want %g", tc.h, tc.w, tc.sigma, i, v[i], want[i])
			}
		}
	}
}

// Upsample matches torch.nn.functional.interpolate(mode="bilinear",
// align_corners=False) on a layer grid (values printed by PyTorch).
func TestUpsampleMatchesPyTorch(t *testing.T) {
	r := &Request{Input: model.NewTensor(1, 1, 4, 4)}
	m := r.heatMap("t", "l", []float32{0, 1, 2, 3}, 2, 2, 0)
	assertClose(t, "2x2 -> 4x4", m.Upsample(), []float64{
		0, 0.25, 0.75, 1,
		0.5, 0.75, 1.25, 1.5,
		1.5, 1.75, 2.25, 2.5,
		2, 2.25, 2.75, 3}, 1e-7)
	r = &Request{Input: model.NewTensor(1, 1, 5, 7)}
	m = r.heatMap("t", "l", []float32{0, 1, 2, 3, 4, 5}, 2, 3, 0)
	assertClose(t, "2x3 -> 5x7", m.Upsample(), []float64{
		0.0000, 0.1429, 0.5714, 1.0000, 1.4286, 1.8571, 2.0000,
		0.3000, 0.4429, 0.8714, 1.3000, 1.7286, 2.1571, 2.3000,
		1.5000, 1.6429, 2.0714, 2.5000, 2.9286, 3.3571, 3.5000,
		2.7000, 2.8429, 3.2714, 3.7000, 4.1286, 4.5571, 4.7000,
		3.0000, 3.1429, 3.5714, 4.0000, 4.4286, 4.8571, 5.0000}, 1e-4)
}

// The colormaps agree with matplotlib's (values printed by matplotlib).
func TestColormaps(t *testing.T) {
	for name, want := range map[string][5][3]uint8{
		"viridis": {{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}},
		"jet":     {{0, 0, 128}, {0, 128, 255}, {125, 255, 122}, {255, 148, 0}, {128, 0, 0}},
	} {
		cm, err := ColormapByName(name)
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range want {
			c := cm(float64(i) / 4)
			if diff(c.R, w[0]) > 1 || diff(c.G, w[1]) > 1 || diff(c.B, w[2]) > 1 {
				t.Errorf("%s(%g) = %v, want %v", name, float64(i)/4, c, w)
			}
		}
		if cm(-1) != cm(0) || cm(2) != cm(1) || cm(math.NaN()) != cm(0) {
			t.Errorf("%s does not clamp", name)
		}
	}
	if _, err := ColormapByName("rainbow"); err == nil {
		t.Error("unknown colormap accepted")
	}
}

func TestRenderHeatGolden(t *testing.T) {
	r := &Request{Input: model.NewTensor(1, 3, 12, 16)}
	m := r.heatMap("gradcam", "l", []float32{0, 1, 0.5, 0, 2, 3, 1, 0, 0, 1, 0.5, 0}, 3, 4, 0)
	for _, c := range []struct {
		cmap  string
		alpha float64
	}{{"viridis", 0.5}, {"jet", 1}, {"viridis", 0.8}} {
		img, err := Render(m, testBase(), Style{Colormap: c.cmap, Alpha: c.alpha, Mode: ModeRaw})
		if err != nil {
			t.Fatal(err)
		}
		golden(t, fmt.Sprintf("heat-%s-%g", c.cmap, c.alpha), img)
	}
	// Alpha 1 without base is the colormap of the min-max scaled map; the
	// peak cell's centre (row 1, column 1: pixel 5.5, 5.5) is the brightest.
	img, err := Render(m, nil, Style{Alpha: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := img.RGBAAt(0, 0); got != viridis(0) {
		t.Errorf("corner %v, want viridis(0) %v", got, viridis(0))
	}
	// Alpha 0 leaves the base.
	img, _ = Render(m, testBase(), Style{Alpha: 0})
	if got, want := img.RGBAAt(7, 3), testBase().(*image.RGBA).RGBAAt(7, 3); got != want {
		t.Errorf("alpha 0: %v, want the base %v", got, want)
	}
	if _, err := Render(m, nil, Style{Alpha: 1.5}); err == nil {
		t.Error("alpha 1.5 accepted")
	}
}

func TestSheetGolden(t *testing.T) {
	m := testInputMap()
	gray, _ := Render(m, nil, Style{Mode: ModeGray})
	raw, _ := Render(m, nil, Style{Mode: ModeRaw})
	tiles := []Tile{{"input", testBase()}, {"gray", gray}, {"raw", raw}, {"a much longer label than fits", raw}, {"norm", gray}}
	img := Sheet(tiles, 0)
	// 5 tiles: 3 columns x 2 rows of 128x96 tiles (enlarged 8x).
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != 8+3*(128+8) || h != 8+2*(96+18+8) {
		t.Errorf("sheet is %dx%d", w, h)
	}
	golden(t, "sheet", img)
}
