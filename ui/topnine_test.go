package ui

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/deepscope/deepscope/assets"
	"github.com/deepscope/deepscope/model"
	"github.com/deepscope/deepscope/vis/index"
)

// newDemoApp opens the embedded demo network (Fashion-MNIST CNN, 1 x 28 x
// 28 input) in an explorer without pipeline.
func newDemoApp(t *testing.T) *App {
	t.Helper()
	m, sc, err := assets.LoadDemo()
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.FitInput(m.Input().Shape); err != nil {
		t.Fatal(err)
	}
	fa := test.NewApp()
	a := newApp(fa, Options{ExportDir: t.TempDir()}, true)
	t.Cleanup(func() {
		a.Close()
		fa.Quit()
	})
	if err := a.useSession(newSession("", m, sc)); err != nil {
		t.Fatal(err)
	}
	a.win.Resize(fyne.NewSize(900, 600))
	return a
}

// demoImages writes n 28 x 28 gray pictures (a bright disc and stripes at
// random places) into a new folder.
func demoImages(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(3, 4))
	for i := range n {
		img := image.NewGray(image.Rect(0, 0, 28, 28))
		cx, cy, rad, period := r.IntN(28), r.IntN(28), 3+r.IntN(8), 2+r.IntN(6)
		for y := range 28 {
			for x := range 28 {
				v := uint8(40)
				if (x+2*y)/period%2 == 0 {
					v = uint8(r.IntN(120))
				}
				if (x-cx)*(x-cx)+(y-cy)*(y-cy) < rad*rad {
					v = 230
				}
				img.SetGray(x, y, color.Gray{v})
			}
		}
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("img%02d.png", i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	return dir
}

// waitSlot waits for the job in slot to end (a guard against a hang, not
// a timing assertion).
func waitSlot(t *testing.T, a *App, slot string) {
	t.Helper()
	if j := a.jobs.Running(slot); j != nil {
		select {
		case <-j.Done():
		case <-time.After(60 * time.Second):
			t.Fatalf("the %s job does not end", slot)
		}
	}
}

// layerIndex returns the index of the named layer in the state.
func layerIndex(t *testing.T, a *App, name string) int {
	t.Helper()
	for i, l := range a.State().Layers {
		if l.Name == name {
			return i
		}
	}
	t.Fatalf("no layer %s", name)
	return -1
}

// unitMaxima runs the demo network on each image and returns each
// image's maximum of unit u of layer.
func unitMaxima(t *testing.T, a *App, files []string, layer string, u int) []float32 {
	t.Helper()
	sess := a.sess
	var out []float32
	for _, f := range files {
		img, err := model.DecodeImage(f)
		if err != nil {
			t.Fatal(err)
		}
		acts, err := sess.m.Run(sess.sc.Preprocess(img))
		if err != nil {
			t.Fatal(err)
		}
		v, _ := acts.Get(layer)
		p := v.Shape[2] * v.Shape[3]
		out = append(out, slices.Max(v.Data[u*p:(u+1)*p]))
		acts.Release()
	}
	return out
}

// Opening an index built from a few images shows the cursor unit's top-9
// crops and deconvs, best first, with the values a brute-force pass over
// the images gives; a layer after a ReLU shows its input's entries, and a
// layer the index lacks says so.
func TestTop9FromIndex(t *testing.T) {
	a := newDemoApp(t)
	src := demoImages(t, 12)
	out := filepath.Join(t.TempDir(), "ix")
	_, err := index.Build(context.Background(), index.Options{Model: a.sess.m, Sidecar: a.sess.sc, Source: src,
		Layers: []string{"conv1"}, Top: 9, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	showFrame(t, a, 1)
	if err := a.openIndex(out); err != nil {
		t.Fatal(err)
	}
	const unit = 5
	a.selectLayer(layerIndex(t, a, "conv1"))
	a.selectTile(unit)
	waitSlot(t, a, top9Slot)
	a.draw()
	it := a.tabs
	if it.nine != 9 {
		t.Fatalf("the top-9 pane shows %d pictures (note %q), want 9", it.nine, it.ixNote.Text)
	}
	files, _ := filepath.Glob(filepath.Join(src, "*.png"))
	slices.Sort(files)
	want := unitMaxima(t, a, files, "conv1", unit)
	slices.SortFunc(want, func(x, y float32) int { return -cmpF(x, y) })
	s, stale, _, _ := a.indexSheetFor(optKey{"conv1", unit})
	if stale || s == nil || len(s.values) != 9 {
		t.Fatalf("sheet %+v stale %v", s, stale)
	}
	for i, v := range s.values {
		if d := v - want[i]; d > 1e-4*max(1, want[i]) || d < -1e-4*max(1, want[i]) {
			t.Fatalf("entry %d: value %g, brute force %g (all %v vs %v)", i, v, want[i], s.values, want[:9])
		}
	}
	if !strings.Contains(it.ixNote.Text, valuesText(s.values[:1])) {
		t.Errorf("the note %q does not list the values", it.ixNote.Text)
	}
	// The sheet shown holds the index's pictures: cell i's mean is the
	// mean of max_0i.jpg.
	sheet, ok := it.ixMax.Image.(*image.RGBA)
	if !ok || sheet.Rect.Dx() != 3*sheetCell+4 {
		t.Fatalf("the max sheet is %T %v", it.ixMax.Image, it.ixMax.Image.Bounds())
	}
	ix, _ := index.Open(out)
	imgs, _, err := ix.Images("conv1", unit, index.RenderMax)
	if err != nil || len(imgs) != 9 {
		t.Fatalf("%d images: %v", len(imgs), err)
	}
	for i, img := range imgs {
		got := meanGray(sheet, sheetCellRect(9, i, sheetCell).Inset(sheetCell/8))
		exp := meanGray(img, img.Bounds().Inset(img.Bounds().Dx()/8))
		if d := got - exp; d > 12 || d < -12 {
			t.Errorf("cell %d mean %.1f, max_%02d.jpg mean %.1f", i, got, i, exp)
		}
	}
	if d, ok := it.ixDeconv.Image.(*image.RGBA); !ok || d.Rect.Dx() != sheet.Rect.Dx() {
		t.Errorf("no deconv sheet: %T", it.ixDeconv.Image)
	}

	// relu1 is not indexed: its input conv1 has the same top images.
	a.selectLayer(layerIndex(t, a, "relu1"))
	a.selectTile(unit)
	waitSlot(t, a, top9Slot)
	a.draw()
	if it.nine != 9 || !strings.Contains(it.ixTitle.Text, "from conv1") || !strings.Contains(it.ixNote.Text, "relu1 is not in the index") {
		t.Errorf("relu1: %d pictures, title %q, note %q", it.nine, it.ixTitle.Text, it.ixNote.Text)
	}
	// pool1 is not either, and says so.
	a.selectLayer(layerIndex(t, a, "pool1"))
	a.selectTile(unit)
	waitSlot(t, a, top9Slot)
	a.draw()
	if it.nine != 0 || !strings.Contains(it.ixNote.Text, "pool1 is not in this index (it has conv1)") {
		t.Errorf("pool1: %d pictures, note %q", it.nine, it.ixNote.Text)
	}
}

// The build from the menu runs in a job, reports progress and opens the
// index it made.
func TestBuildIndexJobOpensIt(t *testing.T) {
	a := newDemoApp(t)
	src := demoImages(t, 5)
	out := filepath.Join(t.TempDir(), "sub", "ix")
	showFrame(t, a, 1)
	a.selectLayer(layerIndex(t, a, "relu1"))
	j := a.startIndexBuild(src, out, indexLayers(a.State(), layersCur))
	if j == nil {
		t.Fatal("no build job")
	}
	if err := j.Err(); err != nil {
		t.Fatal(err)
	}
	if f := j.Fraction(); f != 1 {
		t.Errorf("the build ended at %.2f of its progress", f)
	}
	a.top9.mu.Lock()
	ix := a.top9.ix
	a.top9.mu.Unlock()
	if ix == nil || len(ix.Manifest.Layers) != 1 || ix.Manifest.Layers[0].Name != "relu1" || ix.Manifest.Images != 5 {
		t.Fatalf("opened %+v", ix)
	}
	waitSlot(t, a, top9Slot)
	a.draw()
	if a.tabs.nine != 5 {
		t.Errorf("top-9 of 5 images shows %d", a.tabs.nine)
	}
}

// The live top-9 keeps the best frames seen for the cursor unit: the same
// values as a brute force over the frames shown.
func TestLiveTop9(t *testing.T) {
	a := newDemoApp(t)
	a.selectLayer(layerIndex(t, a, "relu2"))
	a.selectTile(7)
	a.tabs.selectTab(tabLive)
	var maxima []float32
	for seq := uint64(1); seq <= 14; seq++ {
		f := showFrame(t, a, seq)
		a.mu.Lock()
		v, err := a.cur.get("relu2")
		if err != nil || a.cur != f {
			a.mu.Unlock()
			t.Fatal(err)
		}
		p := v.Shape[2] * v.Shape[3]
		maxima = append(maxima, slices.Max(v.Data[7*p:8*p]))
		a.mu.Unlock()
	}
	// Redraw the live pictures now, whatever the time since the last.
	lv, err := a.liveSheetFor(optKey{"relu2", 7}, time.Now().Add(time.Hour))
	if err != nil || lv == nil {
		t.Fatalf("live %v %v", lv, err)
	}
	a.draw()
	slices.SortFunc(maxima, func(x, y float32) int { return -cmpF(x, y) })
	if a.tabs.live != 9 || lv.seen != 14 || !slices.Equal(lv.values, maxima[:9]) {
		t.Fatalf("live shows %d of %d frames: %v, want %v", a.tabs.live, lv.seen, lv.values, maxima[:9])
	}
	if !strings.Contains(a.tabs.liveNote.Text, "of 14 frames") {
		t.Errorf("live note %q", a.tabs.liveNote.Text)
	}
	// Another layer starts afresh.
	a.selectLayer(layerIndex(t, a, "relu1"))
	showFrame(t, a, 15)
	a.top9.mu.Lock()
	seen, layer := a.top9.live.Seen(), a.top9.live.Layer()
	a.top9.mu.Unlock()
	if seen != 2 || layer != "relu1" { // frames 14 (redrawn for the new layer) and 15
		t.Errorf("after the layer change: %s with %d frames", layer, seen)
	}
}

func cmpF(x, y float32) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// meanGray is the mean of (R+G+B)/3 over r of img.
func meanGray(img image.Image, r image.Rectangle) float64 {
	sum, n := 0.0, 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			sum += float64(cr+cg+cb) / 3 / 257
			n++
		}
	}
	return sum / float64(max(n, 1))
}
