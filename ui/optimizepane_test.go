package ui

import (
	"context"
	"image"
	"image/color"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeOpt replaces the optimizations: each reports its start, shows one
// step, then waits until released (or cancelled) and returns a picture of
// one colour per unit.
type fakeOpt struct {
	mu        sync.Mutex
	order     []optKey
	started   chan optKey
	cancelled chan optKey
	release   chan struct{} // nil: finish at once
}

func newFakeOpt(a *App, blocking bool) *fakeOpt {
	f := &fakeOpt{started: make(chan optKey, 64), cancelled: make(chan optKey, 64)}
	if blocking {
		f.release = make(chan struct{})
	}
	a.opt.run = f.run
	return f
}

// unitColour is the fake image's colour of a unit: never gray.
func unitColour(u int) color.RGBA { return color.RGBA{200, uint8(20 + 10*u), 90, 255} }

func (f *fakeOpt) run(ctx context.Context, sess *session, k optKey, onStep func(*image.RGBA, int, int, float64), progress func(int, int)) (*image.RGBA, float64, error) {
	f.mu.Lock()
	f.order = append(f.order, k)
	f.mu.Unlock()
	f.started <- k
	in := sess.m.Input()
	img := image.NewRGBA(image.Rect(0, 0, in.Shape[3], in.Shape[2]))
	fill(img, unitColour(k.Unit))
	progress(1, 2)
	onStep(img, 1, 2, 0.5)
	if f.release != nil {
		select {
		case <-ctx.Done():
			f.cancelled <- k
			return nil, 0, ctx.Err()
		case <-f.release:
		}
	}
	return img, 1.5, nil
}

func (f *fakeOpt) calls() []optKey {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.order)
}

func recvKey(t *testing.T, ch chan optKey, what string) optKey {
	t.Helper()
	select {
	case k := <-ch:
		return k
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	return optKey{}
}

// 'g' optimizes the cursor unit and shows the image forming; moving the
// cursor cancels the job, and the stopped image shows tinted on return.
func TestOptimizeCancelledOnSelectionChange(t *testing.T) {
	a := newTestApp(t)
	f := newFakeOpt(a, true)
	showFrame(t, a, 1)
	a.Key("g")
	if k := recvKey(t, f.started, "the optimization"); k != (optKey{"relu1", 0}) {
		t.Fatalf("g started %v", k)
	}
	// The first step arrives (the fake shows it before blocking).
	deadline := time.Now().Add(10 * time.Second)
	for a.optViewFor(a.State()).img == nil && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	a.draw()
	it := a.tabs
	if it.optButton.Text != "Stop (g)" || !strings.Contains(it.optStatus.Text, "step 1/2") {
		t.Fatalf("while running: button %q status %q", it.optButton.Text, it.optStatus.Text)
	}
	if img, ok := it.optImg.Image.(*image.RGBA); !ok || img.RGBAAt(3, 3) != unitColour(0) {
		t.Fatalf("the forming image is not shown: %T", it.optImg.Image)
	}
	a.Key("l")
	if k := recvKey(t, f.cancelled, "the cancellation"); k != (optKey{"relu1", 0}) {
		t.Fatalf("cancelled %v", k)
	}
	waitSlot(t, a, optSlot)
	a.draw()
	if got := f.calls(); len(got) != 1 {
		t.Fatalf("moving the cursor started %v", got)
	}
	if it.optButton.Text != "Optimize (g)" || !strings.Contains(it.optStatus.Text, "no image yet") {
		t.Fatalf("unit 1: button %q status %q", it.optButton.Text, it.optStatus.Text)
	}
	a.Key("j")
	a.draw()
	if !strings.Contains(it.optStatus.Text, "stopped at step 1/2") {
		t.Fatalf("back at unit 0: %q", it.optStatus.Text)
	}
	if img, ok := it.optImg.Image.(*image.RGBA); !ok || img.RGBAAt(3, 3) == unitColour(0) {
		t.Errorf("the stopped image is not tinted")
	}
	// The button stops a running job too.
	a.Key("g")
	recvKey(t, f.started, "the second optimization")
	a.draw()
	it.optButton.OnTapped()
	if k := recvKey(t, f.cancelled, "the stop"); k != (optKey{"relu1", 0}) {
		t.Fatalf("stop cancelled %v", k)
	}
	waitSlot(t, a, optSlot)
	a.draw()
	if len(f.calls()) != 2 || it.optButton.Text != "Optimize (g)" {
		t.Fatalf("after stop: %v, button %q", f.calls(), it.optButton.Text)
	}
}

// A finished image is cached per unit: coming back shows it at once,
// without another run.
func TestOptimizeCachedPerUnit(t *testing.T) {
	a := newTestApp(t)
	f := newFakeOpt(a, false)
	showFrame(t, a, 1)
	a.Key("l")
	a.Key("g")
	recvKey(t, f.started, "the optimization")
	waitSlot(t, a, optSlot)
	a.selectTile(2)
	a.selectTile(1)
	a.draw()
	it := a.tabs
	if got := f.calls(); len(got) != 1 || got[0] != (optKey{"relu1", 1}) {
		t.Fatalf("runs %v", got)
	}
	if img, ok := it.optImg.Image.(*image.RGBA); !ok || img.RGBAAt(0, 0) != unitColour(1) {
		t.Fatalf("the cached image is not shown: %T %q %q", it.optImg.Image, it.optStatus.Text, it.optTitle.Text)
	}
	if !strings.Contains(it.optStatus.Text, "activation 1.5") {
		t.Errorf("status %q", it.optStatus.Text)
	}
}

// The real optimization raises the unit's mean activation well above a
// gray picture's.
func TestRunOptimizationRaisesActivation(t *testing.T) {
	a := newDemoApp(t)
	k := optKey{"relu2", 1} // (unit 2 is dead: zero everywhere from a gray start)
	steps := 0
	img, value, err := runOptimization(context.Background(), a.sess, k, func(*image.RGBA, int, int, float64) {}, func(s, n int) { steps = n })
	if err != nil {
		t.Fatal(err)
	}
	mean := func(img image.Image) float64 {
		acts, err := a.sess.m.Run(a.sess.sc.Preprocess(img))
		if err != nil {
			t.Fatal(err)
		}
		defer acts.Release()
		v, _ := acts.Get(k.Layer)
		p := v.Shape[2] * v.Shape[3]
		s := 0.0
		for _, x := range v.Data[k.Unit*p : (k.Unit+1)*p] {
			s += float64(x)
		}
		return s / float64(p)
	}
	gray := image.NewGray(image.Rect(0, 0, 28, 28))
	for i := range gray.Pix {
		gray.Pix[i] = 128
	}
	got, base := mean(img), mean(gray)
	if steps == 0 || !(got > base+1) || !(value > 0) {
		t.Fatalf("optimized mean %.3f (objective %.3f) vs gray %.3f after %d steps", got, value, base, steps)
	}
}

// Pattern mode fills the units in order from the cursor, each tile showing
// its image once made and its activation before; a new cursor or layer
// restarts it there.
func TestPatternModeFillsUnitsInOrder(t *testing.T) {
	a := newTestApp(t)
	f := newFakeOpt(a, true)
	showFrame(t, a, 1)
	a.Key("s")
	if !a.State().Pattern {
		t.Fatal("s does not turn pattern mode on")
	}
	recvKey(t, f.started, "unit 0")
	f.release <- struct{}{}
	waitSlot(t, a, optSlot)
	// Between units: unit 0 shows its image, unit 1 still its activation
	// (gray).
	a.drawMu.Lock()
	a.mu.Lock()
	fr := a.cur.retain()
	a.mu.Unlock()
	c := a.compose(a.State(), a.sess, fr, nil)
	fr.drop()
	a.drawMu.Unlock()
	tile := func(c *composed, u int) color.RGBA {
		r := c.geom.Rect(u)
		return c.grid.RGBAAt((r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2)
	}
	if got := tile(c, 0); got != unitColour(0) {
		t.Fatalf("tile 0 is %v, want unit 0's image", got)
	}
	if got := tile(c, 1); got.R != got.G || got.G != got.B {
		t.Fatalf("tile 1 is %v, want its gray activation", got)
	}
	if !strings.Contains(c.gridTitle, "pattern mode: 1/4 units") {
		t.Errorf("title %q", c.gridTitle)
	}
	for u := 1; u < 4; u++ {
		a.draw() // schedules the next unit, as the frame loop does when a job ends
		recvKey(t, f.started, "the next unit")
		f.release <- struct{}{}
		waitSlot(t, a, optSlot)
	}
	a.draw()
	if j := a.jobs.Running(optSlot); j != nil {
		t.Fatalf("%s runs with every unit done", j.Name)
	}
	want := []optKey{{"relu1", 0}, {"relu1", 1}, {"relu1", 2}, {"relu1", 3}}
	if got := f.calls(); !slices.Equal(got, want) {
		t.Fatalf("pattern mode made %v, want %v", got, want)
	}
	a.draw()
	for u := range 4 {
		if got := tile(a.shown, u); got != unitColour(u) {
			t.Errorf("tile %d is %v, want its image", u, got)
		}
	}
	if !strings.Contains(a.gridTitle.Text, "4/4 units") {
		t.Errorf("title %q", a.gridTitle.Text)
	}
	// Off: the activations again.
	a.Key("s")
	if got := tile(a.shown, 2); got == unitColour(2) {
		t.Errorf("pattern mode off still shows the images")
	}
}

// A cursor move cancels the unit being made and starts from the new
// cursor; a layer change restarts on the new layer.
func TestPatternModeRestartsOnSelection(t *testing.T) {
	a := newTestApp(t)
	f := newFakeOpt(a, true)
	showFrame(t, a, 1)
	a.Key("s")
	if k := recvKey(t, f.started, "unit 0"); k != (optKey{"relu1", 0}) {
		t.Fatalf("started %v", k)
	}
	a.Key("l")
	cur := a.State().Unit
	if cur != 1 {
		t.Fatal("the cursor did not move")
	}
	if k := recvKey(t, f.cancelled, "unit 0's cancellation"); k != (optKey{"relu1", 0}) {
		t.Fatalf("cancelled %v", k)
	}
	if k := recvKey(t, f.started, "the cursor's unit"); k != (optKey{"relu1", cur}) {
		t.Fatalf("restarted at %v, want unit %d", k, cur)
	}
	f.release <- struct{}{} // the cursor's unit finishes
	waitSlot(t, a, optSlot)
	a.draw()
	if k := recvKey(t, f.started, "the next unit"); k != (optKey{"relu1", (cur + 1) % 4}) {
		t.Fatalf("after unit %d came %v", cur, k)
	}
	// Another layer: the job stops, pattern mode goes on there.
	conv := layerIndex(t, a, "conv1")
	a.selectLayer(conv)
	if k := recvKey(t, f.cancelled, "the cancellation on the layer change"); k.Layer != "relu1" {
		t.Fatalf("cancelled %v", k)
	}
	if k := recvKey(t, f.started, "conv1"); k != (optKey{"conv1", a.State().Unit}) {
		t.Fatalf("on conv1 started %v (cursor %d)", k, a.State().Unit)
	}
	close(f.release)
}

func TestPatternNext(t *testing.T) {
	have := map[int]bool{0: true, 2: true, 3: true}
	h := func(u int) bool { return have[u] }
	for _, tc := range []struct{ from, want int }{{0, 1}, {1, 1}, {2, 4}, {4, 4}, {9, 4}} {
		if got, ok := patternNext(5, tc.from, h); !ok || got != tc.want {
			t.Errorf("from %d: %d %v, want %d", tc.from, got, ok, tc.want)
		}
	}
	if _, ok := patternNext(3, 1, func(int) bool { return true }); ok {
		t.Error("every unit has an image, yet one is next")
	}
	if _, ok := patternNext(0, 0, h); ok {
		t.Error("no units, yet one is next")
	}
}

// optWant: the request is for the cursor only; pattern mode skips layers
// without maps.
func TestOptWant(t *testing.T) {
	st := NewState(testLayers(), 0)
	none := func(optKey) bool { return false }
	cur := st.Current()
	req := optKey{cur.Name, 0}
	if k, p, ok := optWant(st, &req, none); !ok || p || k != req {
		t.Errorf("request: %v %v %v", k, p, ok)
	}
	other := optKey{cur.Name, 1}
	if _, _, ok := optWant(st, &other, none); ok {
		t.Error("a request for another unit is wanted")
	}
	st.Pattern = true
	if k, p, ok := optWant(st, nil, func(k optKey) bool { return k.Unit == 0 }); !ok || !p || k != (optKey{cur.Name, 1}) {
		t.Errorf("pattern: %v %v %v", k, p, ok)
	}
	for i, l := range st.Layers {
		if l.FC() {
			if _, _, ok := optWant(st.SelectLayer(i), nil, none); ok {
				t.Errorf("pattern mode on fc layer %s", l.Name)
			}
		}
	}
}
