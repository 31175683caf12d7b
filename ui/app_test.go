package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/deepscope/deepscope/model"
	"github.com/deepscope/deepscope/vis"
)

// tinyModel is the CLI's test classifier: data 3x8x8 -> conv1 (4 ch) ->
// relu1 -> pool1 -> gap -> flat -> logits (3 classes: cat, dog, bird).
const tinyModel = "../cmd/deepscope/testdata/tiny.onnx"

// newTestApp opens the tiny model in an explorer without pipeline (frames
// come from showFrame) in a test window.
func newTestApp(t *testing.T) *App {
	t.Helper()
	fa := test.NewApp()
	a := newApp(fa, Options{ExportDir: t.TempDir()}, true)
	t.Cleanup(func() {
		a.Close()
		fa.Quit()
	})
	sess, err := loadSession(tinyModel)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.useSession(sess); err != nil {
		t.Fatal(err)
	}
	a.win.Resize(fyne.NewSize(800, 520))
	return a
}

// showFrame runs the model on a random input and shows it.
func showFrame(t *testing.T, a *App, seq uint64) *frame {
	t.Helper()
	return showFrameAt(t, a, seq, time.Now())
}

// showFrameAt is showFrame for a frame computed at the given time.
func showFrameAt(t *testing.T, a *App, seq uint64, done time.Time) *frame {
	t.Helper()
	a.mu.Lock()
	sess := a.sess
	a.mu.Unlock()
	in := sess.m.Input()
	x := model.NewTensor(in.Shape...)
	r := rand.New(rand.NewPCG(seq, 7))
	for i := range x.Data {
		x.Data[i] = float32(r.NormFloat64())
	}
	acts, err := sess.m.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	f := newFrame(seq, x, acts, acts.Release)
	f.done = done
	a.show(f)
	return f
}

// waitRender waits for the running rendering job to end, then redraws.
func waitRender(t *testing.T, a *App) {
	t.Helper()
	if j := a.jobs.Running(renderSlot); j != nil {
		select {
		case <-j.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("the rendering job does not end")
		}
	}
	a.draw()
}

// blockingCompute replaces the renderings with jobs that wait until they
// are cancelled, reporting each start (its key) and each cancellation.
func blockingCompute(a *App) (started chan renderKey, cancelled chan renderKey) {
	started, cancelled = make(chan renderKey, 16), make(chan renderKey, 16)
	a.compute = func(ctx context.Context, m *model.Model, f *frame, k renderKey, tg vis.Target, progress func(int, int)) (*vis.Map, error) {
		started <- k
		progress(1, 4)
		<-ctx.Done()
		cancelled <- k
		return nil, ctx.Err()
	}
	return started, cancelled
}

func recv(t *testing.T, ch chan renderKey, what string) renderKey {
	t.Helper()
	select {
	case k := <-ch:
		return k
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	return renderKey{}
}

func TestTapSelectsTile(t *testing.T) {
	a := newTestApp(t)
	showFrame(t, a, 1)
	st := a.State()
	cur := st.Current()
	if cur.Name != "relu1" || cur.C != 4 {
		t.Fatalf("default layer %+v, want relu1 with 4 channels", cur)
	}
	if a.shown == nil || !a.shown.tiles || a.shown.geom.N != 4 {
		t.Fatalf("the grid does not show 4 tiles: %+v", a.shown)
	}
	test.TapAt(a.grid, a.grid.TileCenter(2))
	if u := a.State().Unit; u != 2 {
		t.Fatalf("tapping tile 2 selected unit %d", u)
	}
	if a.shown.sel != 2 || !a.grid.sel.Visible() {
		t.Fatalf("the cursor mark is on tile %d (visible %v), want 2", a.shown.sel, a.grid.sel.Visible())
	}
	// The mark surrounds the tile.
	pos, size := a.grid.toWidget(a.grid.geom.Rect(2))
	if m := a.grid.sel; m.Position().X > pos.X || m.Position().Y > pos.Y ||
		m.Position().X+m.Size().Width < pos.X+size.Width || m.Position().Y+m.Size().Height < pos.Y+size.Height {
		t.Fatalf("cursor mark at %v %v does not surround tile 2 at %v %v", m.Position(), m.Size(), pos, size)
	}
	if !strings.Contains(a.insp.actTitle.Text, "relu1:2") {
		t.Fatalf("the inspector shows %q, want relu1:2", a.insp.actTitle.Text)
	}
	// Tapping outside the tiles changes nothing.
	test.TapAt(a.grid, fyne.NewPos(1, 1))
	if u := a.State().Unit; u != 2 {
		t.Fatalf("tapping the background selected unit %d", u)
	}
	// Hovering names the channel and its maximum.
	a.grid.MouseMoved(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: a.grid.TileCenter(3)}})
	if txt := a.gridTitle.Text; !strings.Contains(txt, "hover: relu1:3") || !strings.Contains(txt, "max") {
		t.Fatalf("hover title %q", txt)
	}
	waitRender(t, a)
}

func TestKeysMoveCursorAndChangeLayers(t *testing.T) {
	a := newTestApp(t)
	showFrame(t, a, 1)
	cols := a.State().Cols
	if cols < 2 || cols == 4 {
		t.Fatalf("4 tiles laid out in %d columns; the test wants a 2D grid", cols)
	}
	c := a.win.Canvas()
	test.TypeOnCanvas(c, "l")
	if u := a.State().Unit; u != 1 {
		t.Fatalf("l: unit %d, want 1", u)
	}
	c.OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyDown})
	if u := a.State().Unit; u != 1+cols {
		t.Fatalf("Down: unit %d, want %d", u, 1+cols)
	}
	if a.shown.sel != 1+cols {
		t.Fatalf("the grid shows the cursor on %d, want %d", a.shown.sel, 1+cols)
	}
	test.TypeOnCanvas(c, "o")
	st := a.State()
	if got := st.Current().Name; got != "pool1" {
		t.Fatalf("o: layer %s, want pool1", got)
	}
	if !strings.HasPrefix(a.gridTitle.Text, "pool1") {
		t.Fatalf("grid title %q, want pool1's", a.gridTitle.Text)
	}
	test.TypeOnCanvas(c, "ooo") // gap, flat, logits
	st = a.State()
	if cur := st.Current(); cur.Name != "logits" || !cur.Labelled {
		t.Fatalf("ooo: layer %+v, want the labelled logits", cur)
	}
	// The logits are a strip of bars labelled with the class names.
	var names []string
	for _, l := range a.shown.labels {
		names = append(names, l.Text)
	}
	if len(names) != 3 || !strings.Contains(strings.Join(names, ","), "dog") {
		t.Fatalf("logits labels %v, want cat, dog, bird", names)
	}
	test.TypeOnCanvas(c, "u")
	if got := a.State().Current().Name; got != "flat" {
		t.Fatalf("u: layer %s, want flat", got)
	}
	// The layer list follows.
	test.TypeOnCanvas(c, "u")
	if got := a.State().Current().Name; got != "gap" {
		t.Fatalf("u: layer %s, want gap", got)
	}
	waitRender(t, a)
}

func TestRenderJobCancelledWhenSelectionChanges(t *testing.T) {
	a := newTestApp(t)
	started, cancelled := blockingCompute(a)
	showFrame(t, a, 1)
	first := recv(t, started, "the first rendering")
	if first.Layer != "relu1" || first.Unit != 0 || first.Method != "guided" {
		t.Fatalf("first rendering %+v, want guided relu1:0", first)
	}
	job := a.jobs.Running(renderSlot)
	if job == nil {
		t.Fatal("no rendering job running")
	}
	test.TypeOnCanvas(a.win.Canvas(), "l")
	if k := recv(t, cancelled, "the cancellation"); k != first {
		t.Fatalf("cancelled %+v, want %+v", k, first)
	}
	<-job.Done()
	if !job.Cancelled() {
		t.Fatal("the old job's context is not cancelled")
	}
	second := recv(t, started, "the second rendering")
	if second.Unit != 1 || second.Layer != "relu1" {
		t.Fatalf("second rendering %+v, want relu1:1", second)
	}
	// A new frame does not cancel the running job for the same unit.
	showFrame(t, a, 2)
	select {
	case k := <-cancelled:
		t.Fatalf("a new frame cancelled %+v", k)
	case <-time.After(50 * time.Millisecond):
	}
	// Turning the rendering off cancels it.
	a.update(func(s State) State { s.Method = MethodOff; return s })
	recv(t, cancelled, "the cancellation by b=off")
	waitRender(t, a)
	if a.insp.rendTitle.Text != "rendering off (b: choose one)" {
		t.Fatalf("rendering title %q", a.insp.rendTitle.Text)
	}
}

func TestStaleRenderingIsTinted(t *testing.T) {
	a := newTestApp(t)
	showFrame(t, a, 1)
	waitRender(t, a)
	res := a.result
	if res == nil || res.err != nil || res.img == nil {
		t.Fatalf("no rendering: %+v", res)
	}
	if a.insp.stale || a.insp.badge.Visible() {
		t.Fatal("a fresh rendering is shown as stale")
	}
	shown := a.insp.rend.Image.(*image.RGBA)
	if shown != res.img {
		t.Fatal("the inspector does not show the rendering")
	}

	// Move on while the next rendering cannot finish: the old one stays,
	// tinted, with a badge.
	started, _ := blockingCompute(a)
	test.TypeOnCanvas(a.win.Canvas(), "l")
	recv(t, started, "the rendering of unit 1")
	a.draw()
	if !a.insp.stale || !a.insp.badge.Visible() || !strings.Contains(a.insp.badge.Text, "stale") {
		t.Fatalf("stale %v, badge %v %q", a.insp.stale, a.insp.badge.Visible(), a.insp.badge.Text)
	}
	if !strings.Contains(a.insp.badge.Text, "25%") {
		t.Fatalf("the badge %q does not show the job's progress (1 of 4)", a.insp.badge.Text)
	}
	tinted := a.insp.rend.Image.(*image.RGBA)
	if tinted == res.img || tinted.Rect != res.img.Rect {
		t.Fatal("the stale rendering is not a tinted copy")
	}
	for i := 0; i < len(tinted.Pix); i += 4 * 97 {
		r, g, b := res.img.Pix[i], res.img.Pix[i+1], res.img.Pix[i+2]
		tr, tg, tb := tinted.Pix[i], tinted.Pix[i+1], tinted.Pix[i+2]
		if tr > r/2+31 || tg > g/2+39 || tb < 64 || tb <= tr {
			t.Fatalf("pixel %d: %v -> %v is not dimmed and blue-tinted", i/4, []uint8{r, g, b}, []uint8{tr, tg, tb})
		}
	}
	// Back to unit 0, whose rendering is on screen: fresh again.
	a.compute = computeMap
	test.TypeOnCanvas(a.win.Canvas(), "j")
	waitRender(t, a)
	if a.insp.stale {
		t.Fatal("the rendering of the selected unit and frame is shown as stale")
	}
	// A rendering lagging the picture a little is not stale; one lagging
	// by more than staleAfter is.
	started, _ = blockingCompute(a)
	done := a.result.done
	for i, lag := range []time.Duration{staleAfter / 4, 2 * staleAfter} {
		showFrameAt(t, a, uint64(10+i), done.Add(lag))
		if a.insp.stale != (lag > staleAfter) {
			t.Fatalf("rendering lagging by %v: stale %v", lag, a.insp.stale)
		}
	}
	recv(t, started, "the rendering of the new frame")
}

func TestRenderingMatchesVis(t *testing.T) {
	// The explorer's gradient renderings reuse the frame's forward pass;
	// they must equal vis's own.
	sess, err := loadSession(tinyModel)
	if err != nil {
		t.Fatal(err)
	}
	x := model.NewTensor(sess.m.Input().Shape...)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range x.Data {
		x.Data[i] = float32(r.NormFloat64())
	}
	acts, err := sess.m.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	f := newFrame(1, x, acts, acts.Release)
	defer f.drop()
	for _, k := range []renderKey{
		{Layer: "relu1", Unit: 2, Method: "guided"},
		{Layer: "pool1", Unit: 1, AtMax: true, Method: "deconv"},
		{Layer: "logits", Unit: 1, Method: "saliency"},
		{Layer: "conv1", Unit: 3, Method: "gradxinput"},
	} {
		tg, err := targetFor(sess.m, k)
		if err != nil {
			t.Fatal(err)
		}
		got, err := computeMap(context.Background(), sess.m, f, k, tg, nil)
		if err != nil {
			t.Fatal(err)
		}
		meth, _ := vis.Lookup(k.Method)
		want, err := meth.Compute(context.Background(), &vis.Request{Model: sess.m, Input: x, Target: tg})
		if err != nil {
			t.Fatal(err)
		}
		if got.Mode != want.Mode || got.Kind != want.Kind || math.Abs(got.Score-want.Score) > 1e-5 {
			t.Errorf("%v: mode %s kind %d score %g, want %s %d %g", k, got.Mode, got.Kind, got.Score, want.Mode, want.Kind, want.Score)
		}
		for i := range want.Data.Data {
			if d := math.Abs(float64(got.Data.Data[i] - want.Data.Data[i])); d > 1e-5 {
				t.Fatalf("%v: value %d is %g, vis says %g", k, i, got.Data.Data[i], want.Data.Data[i])
			}
		}
	}
	// A unit of the logits is the class's logit target.
	if tg, _ := targetFor(sess.m, renderKey{Layer: "logits", Unit: 2, Method: "guided"}); !tg.Class {
		t.Errorf("logits unit target %+v, want a class target", tg)
	}
}

func TestExportWritesFiles(t *testing.T) {
	a := newTestApp(t)
	showFrame(t, a, 1)
	waitRender(t, a)
	test.TypeOnCanvas(a.win.Canvas(), "l")
	waitRender(t, a)
	dir := filepath.Join(t.TempDir(), "out")
	j := a.export(dir)
	if err := j.Err(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{ExportInput, ExportGrid, ExportUnit, ExportRendering, ExportWindow} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if img.Bounds().Dx() < 8 || img.Bounds().Dy() < 8 {
			t.Errorf("%s is %v", name, img.Bounds())
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, ExportSettings))
	if err != nil {
		t.Fatal(err)
	}
	var s Settings
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	if s.Layer != "relu1" || s.Unit != 1 || s.Method != "guided" || s.BackLayer != "relu1" || s.BackUnit != 1 ||
		!strings.HasSuffix(s.Model, "tiny.onnx") || len(s.Top5) != 3 {
		t.Fatalf("settings %s", data)
	}
	// The key exports into a new folder under ExportDir.
	test.TypeOnCanvas(a.win.Canvas(), "S")
	j = a.jobs.Running("export")
	if j != nil {
		if err := j.Err(); err != nil {
			t.Fatal(err)
		}
	}
	matches, _ := filepath.Glob(filepath.Join(a.opts.ExportDir, "*-relu1-1", ExportSettings))
	if len(matches) != 1 {
		t.Fatalf("S exported %v", matches)
	}
}

func TestHelpOverlayAndModes(t *testing.T) {
	a := newTestApp(t)
	showFrame(t, a, 1)
	test.TypeOnCanvas(a.win.Canvas(), "h")
	if a.help == nil || !a.help.Visible() {
		t.Fatal("h does not show the help")
	}
	var texts []string
	collect(a.help.Content, &texts)
	all := strings.Join(texts, "\n")
	for _, b := range Bindings {
		if !strings.Contains(all, b.Keys) || !strings.Contains(all, b.Help) {
			t.Errorf("the help does not list %q: %q", b.Keys, b.Help)
		}
	}
	a.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if a.help.Visible() {
		t.Fatal("Esc does not close the help")
	}
	// A frame composed just before the key must not close the help again
	// when it reaches the screen.
	a.mu.Lock()
	st, sess, f := a.st, a.sess, a.cur.retain()
	a.mu.Unlock()
	a.drawMu.Lock()
	c := a.compose(st, sess, f, nil)
	a.drawMu.Unlock()
	f.drop()
	test.TypeOnCanvas(a.win.Canvas(), "h")
	a.apply(c)
	if !a.help.Visible() {
		t.Fatal("a frame composed before h closed the help")
	}
	test.TypeOnCanvas(a.win.Canvas(), "h")

	// Zoom shows one enlarged map without tile marks; the overlay changes
	// the input picture.
	before := a.shown.input
	test.TypeOnCanvas(a.win.Canvas(), "zv")
	if a.shown.tiles || a.grid.sel.Visible() {
		t.Fatal("zoom still shows tiles")
	}
	if a.shown.input == before || !strings.Contains(a.input.caption.Text, "overlay: unit") {
		t.Fatal("the unit overlay does not show")
	}
	test.TypeOnCanvas(a.win.Canvas(), "p")
	if !a.State().Presentation || a.layerList.Visible() {
		t.Fatal("p does not enter the presentation mode")
	}
	test.TypeOnCanvas(a.win.Canvas(), "p")
	if !a.layerList.Visible() {
		t.Fatal("p does not leave the presentation mode")
	}
	waitRender(t, a)
}

func TestUnsupportedModelDialog(t *testing.T) {
	a := newTestApp(t)
	err := fmt.Errorf("load /m/odd.onnx: %w: Det (node \"d1\"); com.microsoft.Gelu (node \"g\", \"h\")", model.ErrUnsupportedOp)
	a.modelError("/m/odd.onnx", err)
	top := a.win.Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("no dialog")
	}
	var texts []string
	collectAll(top, &texts)
	all := strings.Join(texts, "\n")
	for _, want := range []string{"odd.onnx uses unsupported operators", "• Det (node \"d1\")", "• com.microsoft.Gelu (node \"g\", \"h\")", "stays open"} {
		if !strings.Contains(all, want) {
			t.Errorf("the dialog does not say %q:\n%s", want, all)
		}
	}
}

// collectAll gathers the texts of labels and canvas texts under o.
func collectAll(o fyne.CanvasObject, out *[]string) {
	switch v := o.(type) {
	case *canvas.Text:
		*out = append(*out, v.Text)
	case *widget.Label:
		*out = append(*out, v.Text)
	case *fyne.Container:
		for _, c := range v.Objects {
			collectAll(c, out)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(v).Objects() {
			collectAll(c, out)
		}
	}
}

func TestSelectOption(t *testing.T) {
	layers := testLayers()
	if l, u, err := parseSelect("pool1:3", layers); err != nil || l != 2 || u != 3 {
		t.Fatalf("pool1:3 -> %d %d %v", l, u, err)
	}
	for _, bad := range []string{"pool1:4", "nope:1", "pool1:x", "pool1:-1"} {
		if _, _, err := parseSelect(bad, layers); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// collect gathers the texts of canvas.Text objects under o.
func collect(o fyne.CanvasObject, out *[]string) {
	switch v := o.(type) {
	case *canvas.Text:
		*out = append(*out, v.Text)
	case *fyne.Container:
		for _, c := range v.Objects {
			collect(c, out)
		}
	}
}
