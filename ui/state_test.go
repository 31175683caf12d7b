package ui

import (
	"image"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/deepscope/deepscope/model"
)

func testLayers() []LayerInfo {
	return []LayerInfo{
		{Name: "conv1", Op: "Conv", C: 10, H: 8, W: 8},
		{Name: "relu1", Op: "Relu", C: 10, H: 8, W: 8},
		{Name: "pool1", Op: "MaxPool", C: 4, H: 4, W: 4},
		{Name: "logits", Op: "Gemm", C: 3, H: 1, W: 1, Labelled: true},
	}
}

func TestKeyMovesCursorInTheGrid(t *testing.T) {
	s := NewState(testLayers(), 0)
	s.Cols = 4 // 10 tiles: rows of 4, 4, 2
	press := func(keys ...string) {
		t.Helper()
		for _, k := range keys {
			var act Action
			s, act = Key(s, k)
			if act != ActNone {
				t.Fatalf("key %q: action %d, want none", k, act)
			}
		}
	}
	press("l", KeyRight)
	if s.Unit != 2 {
		t.Fatalf("after l, Right: unit %d, want 2", s.Unit)
	}
	press("k", KeyDown) // row 2 has units 8 and 9 only: column 2 clamps to 9
	if s.Unit != 9 {
		t.Fatalf("after two rows down: unit %d, want 9 (last unit)", s.Unit)
	}
	press("i", KeyUp, KeyUp) // to the top row, column 1
	if s.Unit != 1 {
		t.Fatalf("after up, up: unit %d, want 1", s.Unit)
	}
	press("j", KeyLeft, "j") // stops at the left edge
	if s.Unit != 0 {
		t.Fatalf("left past the edge: unit %d, want 0", s.Unit)
	}
	press("L") // by 3
	if s.Unit != 3 {
		t.Fatalf("L: unit %d, want 3", s.Unit)
	}
	press("K") // 3 rows down, clamped to the last row (8, 9): column 3 -> 9
	if s.Unit != 9 {
		t.Fatalf("K: unit %d, want 9", s.Unit)
	}
	press("I", "J")
	if s.Unit != 0 {
		t.Fatalf("I, J: unit %d, want 0", s.Unit)
	}
}

func TestKeyChangesLayersAndClampsUnit(t *testing.T) {
	s := NewState(testLayers(), 1)
	if s.Layer != 1 {
		t.Fatalf("default layer %d, want 1", s.Layer)
	}
	s = s.Select(7)
	s, _ = Key(s, "o") // pool1 has 4 channels
	if s.Layer != 2 || s.Unit != 3 {
		t.Fatalf("o: layer %d unit %d, want 2 and 3 (clamped)", s.Layer, s.Unit)
	}
	s, _ = Key(s, "o")
	s, _ = Key(s, "o") // stays at the last layer
	if s.Layer != 3 || s.Unit != 2 {
		t.Fatalf("o at the end: layer %d unit %d, want 3 and 2", s.Layer, s.Unit)
	}
	for range 5 {
		s, _ = Key(s, "u")
	}
	if s.Layer != 0 {
		t.Fatalf("u at the start: layer %d, want 0", s.Layer)
	}
	s, _ = Key(s, KeyPgDown)
	if s.Layer != 1 {
		t.Fatalf("PageDown: layer %d, want 1", s.Layer)
	}
}

func TestKeyLockCyclesAndReset(t *testing.T) {
	s := NewState(testLayers(), 1)
	s.Cols = 4
	s, _ = Key(s, "l")
	s, _ = Key(s, "d") // lock relu1:1
	s, _ = Key(s, "o")
	s, _ = Key(s, "l")
	if got := s.BackUnit(); got != (Unit{1, 1}) || !s.Locked {
		t.Fatalf("locked back-prop unit %+v (locked %v), want {1 1}", got, s.Locked)
	}
	if cur := (Unit{s.Layer, s.Unit}); cur != (Unit{2, 2}) {
		t.Fatalf("cursor %+v, want {2 2}", cur)
	}
	s, _ = Key(s, "d")
	if s.Locked || s.BackUnit() != (Unit{2, 2}) {
		t.Fatalf("after unlock: back unit %+v locked %v, want the cursor", s.BackUnit(), s.Locked)
	}

	// b cycles every method and comes back; B goes back.
	start := s.Method
	seen := []string{start}
	for {
		s, _ = Key(s, "b")
		if s.Method == start {
			break
		}
		seen = append(seen, s.Method)
	}
	if !slices.Equal(sortedCopy(seen), sortedCopy(Methods())) {
		t.Fatalf("b cycles through %v, want every method %v", seen, Methods())
	}
	s, _ = Key(s, "B")
	if s.Method != seen[len(seen)-1] {
		t.Fatalf("B: %s, want %s", s.Method, seen[len(seen)-1])
	}
	s, _ = Key(s, "n")
	if s.Method != BackModes[0] {
		t.Fatalf("n from %s: %s, want %s", seen[len(seen)-1], s.Method, BackModes[0])
	}
	s, _ = Key(s, "n")
	if s.Method != BackModes[1] {
		t.Fatalf("n: %s, want %s", s.Method, BackModes[1])
	}
	s, _ = Key(s, "m")
	if s.Display != Displays()[1] {
		t.Fatalf("m: display %s, want %s", s.Display, Displays()[1])
	}
	s, _ = Key(s, "t")
	s, _ = Key(s, "T")
	s, _ = Key(s, "z")
	s, _ = Key(s, "v")
	s, _ = Key(s, "a")
	s, _ = Key(s, "f")
	if s.GammaValue() != 0.5 || !s.PerChannel || s.Zoom != ZoomUnit || s.Overlay != OverlayUnit || !s.AtMax || !s.Frozen {
		t.Fatalf("t T z v a f: %+v", s)
	}
	s, _ = Key(s, KeyEscape)
	if s.Layer != 1 || s.Unit != 0 || s.Method != "guided" || s.Display != DisplayAuto || s.GammaValue() != 1 ||
		s.PerChannel || s.Zoom != ZoomOff || s.Overlay != OverlayOff || s.AtMax {
		t.Fatalf("Esc did not reset the view: %+v", s)
	}
	if !s.Frozen {
		t.Fatalf("Esc must keep the input frozen (it resets the view only)")
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

func TestKeyActionsAndHelp(t *testing.T) {
	s := NewState(testLayers(), 0)
	for key, want := range map[string]Action{"q": ActQuit, "e": ActNextFile, "w": ActPrevFile, "c": ActToggleCamera, "S": ActExport, "g": ActOptimize} {
		if _, act := Key(s, key); act != want {
			t.Errorf("key %q: action %d, want %d", key, act, want)
		}
	}
	s, _ = Key(s, "h")
	if !s.Help {
		t.Fatal("h does not open the help")
	}
	// The help takes the keys: l does not move the cursor behind it.
	s2, _ := Key(s, "l")
	if s2.Unit != 0 || !s2.Help {
		t.Fatalf("l with the help open: unit %d help %v", s2.Unit, s2.Help)
	}
	if _, act := Key(s, "q"); act != ActQuit {
		t.Fatal("q must quit with the help open")
	}
	s, _ = Key(s, KeyEscape)
	if s.Help {
		t.Fatal("Esc does not close the help")
	}
	s, _ = Key(s, "p")
	if !s.Presentation {
		t.Fatal("p does not turn on the presentation mode")
	}
	s, _ = Key(s, KeyF11)
	if s.Presentation {
		t.Fatal("F11 does not turn off the presentation mode")
	}
}

// Every key Key understands is in the help, and every letter the help
// names does something.
func TestBindingsListEveryKey(t *testing.T) {
	help := ""
	for _, b := range Bindings {
		help += " " + b.Keys + " "
	}
	base := NewState(testLayers(), 1)
	base.Cols = 4
	base = base.Select(5)
	for r := rune(33); r < 127; r++ {
		k := string(r)
		s, act := Key(base, k)
		changed := act != ActNone || s.Layer != base.Layer || s.Unit != base.Unit || s.Method != base.Method ||
			s.Display != base.Display || s.Help != base.Help || s.Locked != base.Locked || s.Gamma != base.Gamma ||
			s.PerChannel != base.PerChannel || s.Zoom != base.Zoom || s.Overlay != base.Overlay || s.AtMax != base.AtMax ||
			s.Frozen != base.Frozen || s.Mirror != base.Mirror || s.Stretch != base.Stretch || s.Presentation != base.Presentation ||
			s.Pattern != base.Pattern
		listed := strings.Contains(help, " "+k+" ")
		if changed && !listed {
			t.Errorf("key %q does something but is not in the help", k)
		}
		if listed && !changed {
			t.Errorf("the help lists %q but it does nothing", k)
		}
	}
}

func TestLayoutGrid(t *testing.T) {
	for _, tc := range []struct{ n, h, w, W, H int }{
		{512, 14, 14, 700, 600}, {16, 224, 224, 700, 600}, {1000, 1, 1, 700, 600}, {3, 1, 1, 300, 100}, {1, 7, 7, 100, 100},
	} {
		g := layoutGrid(tc.n, tc.h, tc.w, tc.W, tc.H, 2)
		if g.Cols*g.Rows < tc.n {
			t.Errorf("%+v: %d x %d cells for %d tiles", tc, g.Cols, g.Rows, tc.n)
		}
		last := g.Rect(tc.n - 1)
		if g.Rect(0).Min.X < 0 || g.Rect(0).Min.Y < 0 || g.X0+g.Cols*g.TileW+(g.Cols-1)*g.Gap > tc.W || last.Max.Y > tc.H {
			t.Errorf("%+v: grid %+v does not fit", tc, g)
		}
		// The tiles fill the room along one axis, give or take a tile.
		usedW, usedH := g.Cols*(g.TileW+g.Gap), g.Rows*(g.TileH+g.Gap)
		if usedW < tc.W-2*(g.TileW+g.Gap) && usedH < tc.H-2*(g.TileH+g.Gap) {
			t.Errorf("%+v: grid %+v wastes room (%dx%d used)", tc, g, usedW, usedH)
		}
		for _, i := range []int{0, tc.n / 2, tc.n - 1} {
			r := g.Rect(i)
			if got := g.At(r.Min.X+r.Dx()/2, r.Min.Y+r.Dy()/2); got != i {
				t.Errorf("%+v: At(centre of tile %d) = %d", tc, i, got)
			}
		}
		if g.At(g.X0-1, g.Y0) != -1 || g.At(tc.W+5, tc.H+5) != -1 {
			t.Errorf("%+v: At outside the grid is a tile", tc)
		}
	}
	// Maps that fit at least 4 times are drawn at whole multiples.
	g := layoutGrid(4, 7, 7, 400, 400, 2)
	if g.TileW%7 != 0 || g.TileW < 7*4 {
		t.Errorf("4 tiles of 7x7 in 400x400: tile %d px, want a multiple of 7 >= 28", g.TileW)
	}
}

func TestDrawTilesNormalisation(t *testing.T) {
	// Two 2x2 channels: 0..3 and 0..30. Per layer, channel 0 is dim and
	// channel 1 reaches white; per channel, both reach white.
	v := []float32{0, 1, 2, 3, 0, 10, 20, 30}
	g := layoutGrid(2, 2, 2, 20, 10, 0)
	img := image.NewRGBA(image.Rect(0, 0, 20, 10))
	pixel := func(tile, y, x int) uint8 {
		r := g.Rect(tile)
		return img.Pix[img.PixOffset(r.Min.X+x*r.Dx()/2, r.Min.Y+y*r.Dy()/2)]
	}
	drawTiles(img, g, v, 2, 2, false, 1)
	if p := pixel(1, 1, 1); p != 255 {
		t.Errorf("per layer: the layer's maximum is %d, want 255", p)
	}
	if p := pixel(0, 1, 1); p < 25 || p > 26 { // 3/30 of 255
		t.Errorf("per layer: 3 of 30 is %d, want 25.5", p)
	}
	if p := pixel(0, 0, 0); p != 0 {
		t.Errorf("per layer: the minimum is %d, want 0", p)
	}
	drawTiles(img, g, v, 2, 2, true, 1)
	if p := pixel(0, 1, 1); p != 255 {
		t.Errorf("per channel: channel 0's maximum is %d, want 255", p)
	}
	drawTiles(img, g, v, 2, 2, false, 0.5)
	if p, want := pixel(0, 1, 1), uint8(math.Round(255*math.Sqrt(0.1))); p < want-1 || p > want+1 {
		t.Errorf("gamma 0.5: 3 of 30 is %d, want %d", p, want)
	}
}

func TestDrawBarsFromZero(t *testing.T) {
	// -1, 0, 2 in cells 30 px high: zero is 10 px above the bottom; 2
	// fills up to the top in blue, -1 down to the bottom in orange.
	g := layoutGrid(3, 1, 1, 90, 30, 0)
	if g.TileH != 30 || g.TileW != 30 {
		t.Fatalf("geometry %+v", g)
	}
	img := image.NewRGBA(image.Rect(0, 0, 90, 30))
	drawBars(img, g, []float32{-1, 0, 2}, 1)
	at := func(tile, y int) [3]uint8 {
		r := g.Rect(tile)
		o := img.PixOffset(r.Min.X+r.Dx()/2, y)
		return [3]uint8{img.Pix[o], img.Pix[o+1], img.Pix[o+2]}
	}
	rgb := func(c interface{ RGBA() (r, g, b, a uint32) }) [3]uint8 {
		r, gg, b, _ := c.RGBA()
		return [3]uint8{uint8(r >> 8), uint8(gg >> 8), uint8(b >> 8)}
	}
	if at(2, 0) != rgb(colBar) || at(2, 19) != rgb(colBar) || at(2, 21) != rgb(colCell) {
		t.Errorf("the bar of 2 spans %v %v %v; want blue from the top to y=20", at(2, 0), at(2, 19), at(2, 21))
	}
	if at(0, 29) != rgb(colBarNeg) || at(0, 21) != rgb(colBarNeg) || at(0, 19) != rgb(colCell) {
		t.Errorf("the bar of -1 spans %v %v %v; want orange from y=20 to the bottom", at(0, 29), at(0, 21), at(0, 19))
	}
	if at(1, 5) != rgb(colCell) || at(1, 25) != rgb(colCell) {
		t.Errorf("the bar of 0 is not empty")
	}
}

func TestLayerSpanSaturatesOutliers(t *testing.T) {
	// 10000 values 0..1 and 5 outliers at 100: the span ends near 1, not
	// at 100 (0.1% = 10 values may saturate).
	v := make([]float32, 10005)
	for i := range 10000 {
		v[i] = float32(i) / 9999
	}
	for i := 10000; i < len(v); i++ {
		v[i] = 100
	}
	s := layerSpan(v)
	if s.lo != 0 || s.t(0.5) < 0.4 || s.t(0.5) > 0.6 || s.t(100) != 1 {
		t.Fatalf("span %+v maps 0.5 to %g", s, s.t(0.5))
	}
	// Without outliers it is the range itself (to a histogram bin).
	s = layerSpan(v[:10000])
	if got := s.t(0.5); math.Abs(float64(got)-0.5) > 0.002 {
		t.Fatalf("span of 0..1 maps 0.5 to %g", got)
	}
}

func TestClipMap(t *testing.T) {
	// 1000 values ±(0..1) and 3 huge ones: clipped at the 99.5% quantile
	// of |v| (about 1, to a histogram bin of 90/4096), signs kept.
	v := make([]float32, 1003)
	for i := range 1000 {
		v[i] = float32(i) / 999
		if i%2 == 1 {
			v[i] = -v[i]
		}
	}
	v[1000], v[1001], v[1002] = 50, -70, 90
	c := clipMap(model.FromData(v, 1003), 0.995)
	if c.Data[1000] > 1.03 || c.Data[1001] < -1.03 || c.Data[1002] > 1.03 || c.Data[1001] > 0 {
		t.Fatalf("outliers clipped to %v", c.Data[1000:])
	}
	if c.Data[3] != v[3] || v[1002] != 90 {
		t.Fatal("clipMap changed a small value or its input")
	}
	if got := quantileAbs([]float32{0, 0, 0}, 0.99); got != 0 {
		t.Fatalf("quantile of zeros %g", got)
	}
}

func TestInputPictureInvertsPreprocessing(t *testing.T) {
	sess, err := loadSession(tinyModel) // scale 255, mean 0.5, std 0.25, RGB
	if err != nil {
		t.Fatal(err)
	}
	src := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range src.Pix {
		src.Pix[i] = uint8(i * 7)
		if i%4 == 3 {
			src.Pix[i] = 255
		}
	}
	x := sess.sc.Preprocess(src)
	got := image.NewRGBA(src.Rect)
	inputPicture(got, x, sess.space)
	for i := range src.Pix {
		if d := int(got.Pix[i]) - int(src.Pix[i]); d < -1 || d > 1 {
			t.Fatalf("byte %d: %d, want %d", i, got.Pix[i], src.Pix[i])
		}
	}
}

func TestTopClasses(t *testing.T) {
	labels := func(i int) string { return []string{"cat", "dog", "bird", "fish"}[i] }
	got := topClasses([]float32{1, 3, 2, -1}, 3, labels)
	e := []float64{math.E, math.Exp(3), math.Exp(2), math.Exp(-1)}
	sum := e[0] + e[1] + e[2] + e[3]
	want := []Class{{1, "dog", e[1] / sum}, {2, "bird", e[2] / sum}, {0, "cat", e[0] / sum}}
	if len(got) != 3 {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i].Index != want[i].Index || got[i].Label != want[i].Label || math.Abs(got[i].Prob-want[i].Prob) > 1e-9 {
			t.Errorf("top %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	// Probabilities already: kept as they are.
	got = topClasses([]float32{0.1, 0.2, 0.7, 0}, 1, labels)
	if got[0].Index != 2 || math.Abs(got[0].Prob-0.7) > 1e-6 {
		t.Errorf("probabilities: %+v, want bird 0.7", got[0])
	}
}

func TestImagePoolRotates(t *testing.T) {
	var p imagePool
	seen := map[*image.RGBA]bool{}
	for range poolSize {
		seen[p.get(10, 10)] = true
	}
	if len(seen) != poolSize || poolSize < 3 {
		t.Fatalf("%d distinct buffers in a ring of %d; want >= 3 distinct", len(seen), poolSize)
	}
	if b := p.get(10, 10); !seen[b] {
		t.Fatal("the ring does not reuse its buffers")
	}
	if b := p.get(20, 10); b.Rect.Dx() != 20 {
		t.Fatal("a new size does not reallocate")
	}
}
