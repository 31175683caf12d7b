package model

import (
	"image"
	"image/color"
	"math"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"testing"
	"time"
)

// testSidecar returns validated input settings for tests.
func testSidecar(t *testing.T, w, h int, col string, scale float64, mean, std []float64, resize string) *Sidecar {
	t.Helper()
	s := &Sidecar{Input: InputSpec{Width: w, Height: h, Color: col, Scale: scale, Mean: mean, Std: std, Resize: resize}}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	return s
}

// numbered returns a w x h image whose pixel (x, y) is
// (x + 10y, 100 + x + 10y, 200 - x - 10y), opaque.
func numbered(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			v := x + 10*y
			img.SetRGBA(x, y, color.RGBA{uint8(v), uint8(100 + v), uint8(200 - v), 255})
		}
	}
	return img
}

func checkShape(t *testing.T, x *Tensor, shape ...int) {
	t.Helper()
	if !SameShape(x.Shape, shape) || len(x.Data) != NumElements(shape) {
		t.Fatalf("shape %v (%d values), want %v", x.Shape, len(x.Data), shape)
	}
}

func TestPreprocessExactValues(t *testing.T) {
	// No resampling (the image already has the input size): every value is
	// (pixel/scale - mean[c]) / std[c], in C x H x W order.
	mean, std := []float64{0.485, 0.456, 0.406}, []float64{0.229, 0.224, 0.225}
	s := testSidecar(t, 5, 3, RGB, 255, mean, std, ResizeStretch)
	img := numbered(5, 3)
	x := s.Preprocess(img)
	checkShape(t, x, 1, 3, 3, 5)
	for c := range 3 {
		for y := range 3 {
			for xx := range 5 {
				p := img.RGBAAt(xx, y)
				pix := []uint8{p.R, p.G, p.B}[c]
				want := float32((float64(pix)/255 - mean[c]) / std[c])
				if got := x.Data[c*15+y*5+xx]; got != want {
					t.Fatalf("value c=%d y=%d x=%d = %v, want %v", c, y, xx, got, want)
				}
			}
		}
	}
	// Spot-check one value by hand: pixel (2,1) is R=12, G=112, B=188.
	if got, want := x.Data[2*15+1*5+2], float32((188.0/255-0.406)/0.225); got != want {
		t.Fatalf("B(2,1) = %v, want %v", got, want)
	}
}

func TestPreprocessStretchResamples(t *testing.T) {
	// A uniform colour stays exactly that colour whatever the scaling.
	src := image.NewRGBA(image.Rect(0, 0, 37, 11))
	for i := 0; i < len(src.Pix); i += 4 {
		copy(src.Pix[i:], []uint8{10, 200, 30, 255})
	}
	s := testSidecar(t, 8, 6, RGB, 255, []float64{0.5}, []float64{0.25}, ResizeStretch)
	x := s.Preprocess(src)
	checkShape(t, x, 1, 3, 6, 8)
	for c, pix := range []float64{10, 200, 30} {
		want := float32((pix/255 - 0.5) / 0.25)
		for i, v := range x.Data[c*48 : (c+1)*48] {
			if v != want {
				t.Fatalf("channel %d value %d = %v, want %v", c, i, v, want)
			}
		}
	}

	// Four coloured quadrants stretched from 40x20 to 4x2: every output pixel
	// is nearest to its own quadrant's colour (no flip, no transpose).
	quad := []color.RGBA{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}, {255, 255, 255, 255}}
	src = image.NewRGBA(image.Rect(0, 0, 40, 20))
	for y := range 20 {
		for xx := range 40 {
			src.SetRGBA(xx, y, quad[2*(y/10)+xx/20])
		}
	}
	s = testSidecar(t, 4, 2, RGB, 255, []float64{0}, []float64{1}, ResizeStretch)
	x = s.Preprocess(src)
	for y := range 2 {
		for xx := range 4 {
			q := quad[2*y+xx/2]
			for c, want := range []uint8{q.R, q.G, q.B} {
				got := x.Data[c*8+y*4+xx] * 255
				if math.Abs(float64(got)-float64(want)) > 80 {
					t.Fatalf("pixel (%d,%d) channel %d = %v, want near %d", xx, y, c, got, want)
				}
			}
		}
	}
}

func TestResizeGeometry(t *testing.T) {
	cases := []struct {
		w, h           int
		resize         string
		iw, ih         int
		rw, rh, x0, y0 int
	}{
		// ImageNet recipe: short side 256 (truncating the long side like
		// torchvision), centre crop 224.
		{224, 224, "short-side-256-center-crop", 768, 576, 341, 256, 58, 16},
		{224, 224, "short-side-256-center-crop", 576, 768, 256, 341, 16, 58},
		{224, 224, ResizeShortSideCrop, 500, 500, 256, 256, 16, 16},
		{224, 224, "", 773, 512, 386, 256, 81, 16},
		{224, 224, ResizeShortSideCrop, 28, 28, 256, 256, 16, 16},
		// Without margin: cover 224x224 exactly.
		{224, 224, ResizeCenterCrop, 768, 576, 298, 224, 37, 0},
		{224, 224, ResizeCenterCrop, 224, 224, 224, 224, 0, 0},
		// A short side smaller than the crop still covers it.
		{224, 224, "short-side-100-center-crop", 400, 200, 448, 224, 112, 0},
		// Non-square input: 300x200 from a portrait image must cover width 300.
		{300, 200, "short-side-256-center-crop", 400, 800, 300, 600, 0, 200},
		{300, 200, ResizeStretch, 400, 800, 300, 200, 0, 0},
	}
	for _, c := range cases {
		s := testSidecar(t, c.w, c.h, RGB, 255, []float64{0}, []float64{1}, c.resize)
		rw, rh, x0, y0 := s.geometry(c.iw, c.ih)
		if rw != c.rw || rh != c.rh || x0 != c.x0 || y0 != c.y0 {
			t.Errorf("%dx%d %q from %dx%d: resize %dx%d crop at (%d,%d), want %dx%d at (%d,%d)",
				c.w, c.h, c.resize, c.iw, c.ih, rw, rh, x0, y0, c.rw, c.rh, c.x0, c.y0)
		}
	}
}

func TestPreprocessCropGeometry(t *testing.T) {
	// Short side 8 on a 16x8 image is no resampling, so the 4x4 crop must be
	// exactly source pixels x in [6,10), y in [2,6); portrait: x [2,6), y [6,10).
	s := testSidecar(t, 4, 4, RGB, 1, []float64{0}, []float64{1}, "short-side-8-center-crop")
	for _, c := range []struct{ iw, ih, x0, y0 int }{{16, 8, 6, 2}, {8, 16, 2, 6}} {
		img := numbered(c.iw, c.ih)
		// An offset origin must not matter.
		sub := img.SubImage(img.Bounds()).(*image.RGBA)
		x := s.Preprocess(sub)
		for y := range 4 {
			for xx := range 4 {
				if got, want := x.Data[y*4+xx], float32(img.RGBAAt(c.x0+xx, c.y0+y).R); got != want {
					t.Fatalf("%dx%d: R(%d,%d) = %v, want %v (source pixel (%d,%d))", c.iw, c.ih, xx, y, got, want, c.x0+xx, c.y0+y)
				}
			}
		}
		crop := s.PreprocessedImage(img).(*image.RGBA)
		if crop.Bounds() != image.Rect(0, 0, 4, 4) || crop.RGBAAt(0, 0) != img.RGBAAt(c.x0, c.y0) || crop.RGBAAt(3, 3) != img.RGBAAt(c.x0+3, c.y0+3) {
			t.Fatalf("%dx%d: PreprocessedImage crop %v corner %v, want corner %v", c.iw, c.ih, crop.Bounds(), crop.RGBAAt(0, 0), img.RGBAAt(c.x0, c.y0))
		}
	}

	// A non-zero image origin: the crop is relative to the bounds.
	big := numbered(20, 12)
	sub := big.SubImage(image.Rect(2, 3, 18, 11)) // 16x8, origin (2,3)
	x := s.Preprocess(sub)
	if got, want := x.Data[0], float32(big.RGBAAt(2+6, 3+2).R); got != want {
		t.Fatalf("sub-image crop corner R = %v, want %v", got, want)
	}
}

func TestPreprocessGray(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 2, 1))
	img.SetRGBA(0, 0, color.RGBA{100, 150, 200, 255})
	img.SetRGBA(1, 0, color.RGBA{255, 255, 255, 255})
	s := testSidecar(t, 2, 1, Gray, 255, []float64{0.1}, []float64{0.5}, ResizeStretch)
	if s.Channels() != 1 {
		t.Fatalf("Channels = %d", s.Channels())
	}
	x := s.Preprocess(img)
	checkShape(t, x, 1, 1, 1, 2)
	// Luma 0.299*100 + 0.587*150 + 0.114*200 = 140.75.
	want := []float64{(140.75/255 - 0.1) / 0.5, (1 - 0.1) / 0.5}
	for i, w := range want {
		if math.Abs(float64(x.Data[i])-w) > 1e-6 {
			t.Fatalf("gray value %d = %v, want %v", i, x.Data[i], w)
		}
	}
	g, ok := s.PreprocessedImage(img).(*image.Gray)
	if !ok || g.GrayAt(0, 0).Y != 141 || g.GrayAt(1, 0).Y != 255 {
		t.Fatalf("PreprocessedImage = %T %v, want Gray 141, 255", s.PreprocessedImage(img), g)
	}
	// A Gray source image: luma is the grey level itself.
	gs := image.NewGray(image.Rect(0, 0, 2, 1))
	gs.Pix[0], gs.Pix[1] = 7, 250
	x = s.Preprocess(gs)
	for i, p := range gs.Pix {
		if w := (float64(p)/255 - 0.1) / 0.5; math.Abs(float64(x.Data[i])-w) > 1e-6 {
			t.Fatalf("gray source value %d = %v, want %v", i, x.Data[i], w)
		}
	}
}

func TestPreprocessBGR(t *testing.T) {
	// Caffe-style (googlenet in the zoo): BGR, scale 1, per-channel means in
	// B, G, R order.
	mean := []float64{103.939, 116.779, 123.68}
	s := testSidecar(t, 1, 1, "bgr", 1, mean, []float64{1}, ResizeStretch)
	if s.Input.Color != BGR {
		t.Fatalf("colour normalised to %q", s.Input.Color)
	}
	img := image.NewRGBA(image.Rect(0, 0, 1, 1))
	img.SetRGBA(0, 0, color.RGBA{10, 20, 30, 255})
	x := s.Preprocess(img)
	want := []float32{float32(30 - mean[0]), float32(20 - mean[1]), float32(10 - mean[2])}
	for c := range 3 {
		if x.Data[c] != want[c] {
			t.Fatalf("BGR tensor %v, want %v", x.Data, want)
		}
	}
	back := s.ToImage(x).(*image.RGBA)
	if got := back.RGBAAt(0, 0); got != (color.RGBA{10, 20, 30, 255}) {
		t.Fatalf("ToImage = %v, want RGB 10,20,30", got)
	}
}

func TestToImageInvertsPreprocess(t *testing.T) {
	img := numbered(23, 17)
	for _, s := range []*Sidecar{
		testSidecar(t, 9, 7, RGB, 255, []float64{0.485, 0.456, 0.406}, []float64{0.229, 0.224, 0.225}, ResizeShortSideCrop),
		testSidecar(t, 9, 7, BGR, 1, []float64{104, 117, 123}, []float64{1}, ResizeCenterCrop),
		testSidecar(t, 8, 8, Gray, 127.5, []float64{1}, []float64{1}, ResizeStretch),
		testSidecar(t, 23, 17, RGB, 127.5, []float64{1}, []float64{1}, ResizeStretch),
	} {
		crop := s.PreprocessedImage(img)
		back := s.ToImage(s.Preprocess(img))
		if back == nil || back.Bounds() != crop.Bounds() {
			t.Fatalf("%s: ToImage bounds %v, want %v", s.Input.Color, back, crop.Bounds())
		}
		b := crop.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				if g, w := color.RGBAModel.Convert(back.At(x, y)), color.RGBAModel.Convert(crop.At(x, y)); g != w {
					t.Fatalf("%s %s: pixel (%d,%d) = %v, want %v", s.Input.Color, s.Input.Resize, x, y, g, w)
				}
			}
		}
	}
	// The identity case also recovers the source itself.
	s := testSidecar(t, 23, 17, RGB, 255, []float64{0.5}, []float64{0.2}, ResizeStretch)
	if back := s.ToImage(s.Preprocess(img)).(*image.RGBA); string(back.Pix) != string(img.Pix) {
		t.Fatal("ToImage(Preprocess(img)) differs from img at its own size")
	}
}

func TestToImageClampsAndRejects(t *testing.T) {
	s := testSidecar(t, 3, 1, Gray, 255, []float64{0}, []float64{1}, ResizeStretch)
	g := s.ToImage(FromData([]float32{-2, 0.5, 7}, 1, 1, 1, 3)).(*image.Gray)
	if g.Pix[0] != 0 || g.Pix[1] != 128 || g.Pix[2] != 255 {
		t.Fatalf("clamped gray = %v, want [0 128 255]", g.Pix)
	}
	if g := s.ToImage(FromData([]float32{float32(math.NaN())}, 1, 1, 1)).(*image.Gray); g.Pix[0] != 0 {
		t.Fatalf("NaN pixel = %d, want 0", g.Pix[0])
	}
	for _, bad := range []*Tensor{nil, NewTensor(2, 2, 2, 2), NewTensor(6), FromInts([]int64{1}, 1, 1, 1, 1)} {
		if img := s.ToImage(bad); img != nil {
			t.Fatalf("ToImage(%v) = %v, want nil", bad, img)
		}
	}
}

func TestPreprocessIntoReusesBuffer(t *testing.T) {
	s := testSidecar(t, 32, 24, RGB, 255, []float64{0.5}, []float64{0.5}, ResizeShortSideCrop)
	frame := image.NewYCbCr(image.Rect(0, 0, 64, 48), image.YCbCrSubsampleRatio420) // like camera frames
	for i := range frame.Y {
		frame.Y[i] = uint8(i)
	}
	dst := NewTensor(1, 3, 24, 32)
	if got := s.PreprocessInto(dst, frame); got != dst {
		t.Fatal("PreprocessInto did not reuse a destination of the right shape")
	}
	want := s.Preprocess(frame)
	for i := range want.Data {
		if dst.Data[i] != want.Data[i] {
			t.Fatalf("PreprocessInto value %d = %v, Preprocess gives %v", i, dst.Data[i], want.Data[i])
		}
	}
	if got := s.PreprocessInto(NewTensor(1, 3, 24, 31), frame); !SameShape(got.Shape, []int{1, 3, 24, 32}) {
		t.Fatalf("wrong-shaped destination gave shape %v", got.Shape)
	}
	allocs := testing.AllocsPerRun(20, func() { s.PreprocessInto(dst, frame) })
	// The race detector makes sync.Pool drop items at random: allow a few.
	if limit := map[bool]float64{false: 0, true: 2}[raceEnabled()]; allocs > limit {
		t.Fatalf("PreprocessInto allocates %v times per frame, want at most %v", allocs, limit)
	}
}

func TestPreprocessEdgeCases(t *testing.T) {
	s := testSidecar(t, 4, 4, RGB, 255, []float64{0.5}, []float64{0.25}, ResizeShortSideCrop)
	// An empty image gives the value of black everywhere, without panicking.
	x := s.Preprocess(image.NewRGBA(image.Rectangle{}))
	for _, v := range x.Data {
		if v != -2 {
			t.Fatalf("empty image value %v, want -2", v)
		}
	}
	if img := s.PreprocessedImage(image.NewRGBA(image.Rectangle{})); img.Bounds().Dx() != 4 {
		t.Fatalf("empty PreprocessedImage bounds %v", img.Bounds())
	}
	// A 1x1 image is upscaled to its colour.
	one := image.NewRGBA(image.Rect(0, 0, 1, 1))
	one.SetRGBA(0, 0, color.RGBA{255, 0, 255, 255})
	x = s.Preprocess(one)
	for i, v := range x.Data {
		if want := []float32{2, -2, 2}[i/16]; v != want {
			t.Fatalf("1x1 image value %d = %v, want %v", i, v, want)
		}
	}
}

func TestPreprocessExtremeAspectRatio(t *testing.T) {
	// 3000x10 would resize to 76800x256 for the short-side recipe; the crop
	// (about 8.75 source pixels square) is all that is resized. Left
	// half red, right half blue: the centre crop must show red on its left
	// and blue on its right.
	img := image.NewRGBA(image.Rect(0, 0, 3000, 10))
	for y := range 10 {
		for x := range 3000 {
			c := color.RGBA{255, 0, 0, 255}
			if x >= 1500 {
				c = color.RGBA{0, 0, 255, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	s := testSidecar(t, 224, 224, RGB, 255, []float64{0}, []float64{1}, "short-side-256-center-crop")
	x := s.Preprocess(img)
	checkShape(t, x, 1, 3, 224, 224)
	const plane = 224 * 224
	for y := range 224 {
		if r, b := x.Data[y*224], x.Data[2*plane+y*224]; r != 1 || b != 0 {
			t.Fatalf("row %d left pixel R=%v B=%v, want red", y, r, b)
		}
		if r, b := x.Data[y*224+223], x.Data[2*plane+y*224+223]; r != 0 || b != 1 {
			t.Fatalf("row %d right pixel R=%v B=%v, want blue", y, r, b)
		}
	}
}

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, st := range bi.Settings {
			if st.Key == "-race" {
				return st.Value == "true"
			}
		}
	}
	return false
}

// BenchmarkPreprocessVideoFrame is the live path's preprocessing: a
// 640x360 RGBA video frame to a 224x224 network input (short side resized,
// centre crop).
func BenchmarkPreprocessVideoFrame(b *testing.B) {
	s := DefaultSidecar()
	img := image.NewRGBA(image.Rect(0, 0, 640, 360))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	var dst *Tensor
	c0 := processCPU()
	for b.Loop() {
		dst = s.PreprocessInto(dst, img)
	}
	// CPU time is less disturbed than wall-clock time by other load.
	b.ReportMetric(float64(processCPU()-c0)/1e6/float64(b.N), "cpu-ms/op")
}

// processCPU is the process's user + system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestPreprocessMatchesPIL compares the resize and crop with torchvision's
// PIL pipeline (Resize(64) + CenterCrop(56), and Resize((56, 56))) on real
// photos, from the fixtures scripts/pil_refs.py wrote. PIL's antialiased
// bilinear filter and ours differ only in float rounding: at most 2 levels
// anywhere and a mean gap below 0.2 levels (truncating instead of rounding,
// a wrong filter width or an off-by-half-pixel grid all give 0.5 or more).
func TestPreprocessMatchesPIL(t *testing.T) {
	photos := filepath.Join(sharedDir(t), "photos")
	for _, c := range []struct{ recipe, resize string }{
		{"short64crop56", "short-side-64-center-crop"},
		{"stretch56", ResizeStretch},
	} {
		for _, photo := range []string{"dog", "scream"} {
			ref, err := ReadNPY(filepath.Join("..", "testdata", "pil", photo+"_"+c.recipe+".npy"))
			if err != nil {
				t.Fatal(err)
			}
			img, err := DecodeImage(filepath.Join(photos, photo+".jpg"))
			if err != nil {
				t.Skipf("photo: %v", err)
			}
			s := testSidecar(t, 56, 56, RGB, 1, []float64{0}, []float64{1}, c.resize)
			x := s.Preprocess(img)
			var sum, worst float64
			for i, v := range ref.Data {
				d := math.Abs(float64(x.Data[i] - v))
				sum += d
				worst = max(worst, d)
			}
			mean := sum / float64(len(ref.Data))
			t.Logf("%s %s: mean |diff| %.3f levels, max %.0f", photo, c.recipe, mean, worst)
			if mean > 0.2 || worst > 2 {
				t.Errorf("%s %s: mean |diff| %.3f levels (limit 0.2), max %.1f (limit 2) from PIL", photo, c.recipe, mean, worst)
			}
		}
	}
}
