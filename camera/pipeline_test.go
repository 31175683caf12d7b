package camera

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deepscope/deepscope/model"
)

// testSource wraps a source, recording calls and Close, and failing on
// request.
type testSource struct {
	Source
	mu        sync.Mutex
	calls     int
	failEvery int  // every failEvery-th call fails (0: never)
	dead      bool // every call fails
	closed    bool
}

func (s *testSource) Next(ctx context.Context) (Frame, error) {
	s.mu.Lock()
	s.calls++
	fail := s.dead || (s.failEvery > 0 && s.calls%s.failEvery == 0)
	n := s.calls
	s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return Frame{}, err
	}
	if fail {
		return Frame{}, fmt.Errorf("flaky source: call %d failed", n)
	}
	return s.Source.Next(ctx)
}

func (s *testSource) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return s.Source.Close()
}

func (s *testSource) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// logger collects a pipeline's messages.
type logger struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logger) log(m string) {
	l.mu.Lock()
	l.msgs = append(l.msgs, m)
	l.mu.Unlock()
}

func (l *logger) has(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.ContainsFunc(l.msgs, func(m string) bool { return strings.Contains(m, sub) })
}

// start runs a pipeline on the tiny model; stop cancels it and returns
// Run's error.
func start(t *testing.T, cfg Config) (p *Pipeline, m *model.Model, sc *model.Sidecar, stop func() error) {
	t.Helper()
	m, sc = tinyModel(t)
	p, err := New(m, sc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(5 * time.Second):
				runErr = errors.New("Run did not return within 5 s of cancellation")
			}
		})
		return runErr
	}
	t.Cleanup(func() { stop() })
	return p, m, sc, stop
}

// waitFor polls cond until it holds or fails the test after 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func frames(p *Pipeline, n uint64) func() bool {
	return func() bool { return p.Stats().Frames >= n }
}

// checkSnapshot recomputes a snapshot's input and output from its frame.
func checkSnapshot(t *testing.T, m *model.Model, sc *model.Sidecar, s *Snapshot, wantFrame *image.RGBA) {
	t.Helper()
	if wantFrame != nil && !slices.Equal(pixels(s.Frame.Image), pixels(wantFrame)) {
		t.Fatalf("snapshot %d: the frame is not the one expected", s.Seq)
	}
	x := sc.Preprocess(s.Frame.Image)
	if !slices.Equal(x.Data, s.Input.Data) {
		t.Fatalf("snapshot %d: the input is not the preprocessed frame", s.Seq)
	}
	in, err := s.Get("x")
	if err != nil || in != s.Input {
		t.Fatalf("snapshot %d: graph input %v, %v", s.Seq, in, err)
	}
	want, err := m.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	defer want.Release()
	for _, name := range tinyLayers {
		got, err := s.Get(name)
		if err != nil {
			t.Fatalf("snapshot %d: layer %s: %v", s.Seq, name, err)
		}
		w, _ := want.Get(name)
		if !slices.Equal(got.Data, w.Data) || !model.SameShape(got.Shape, w.Shape) {
			t.Fatalf("snapshot %d: layer %s differs from a forward pass of its input", s.Seq, name)
		}
	}
}

// pixels returns an image's pixels row by row, without stride padding.
func pixels(img *image.RGBA) []byte {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	out := make([]byte, 0, 4*w*h)
	for y := range h {
		o := img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y)
		out = append(out, img.Pix[o:o+4*w]...)
	}
	return out
}

func TestPipelineComputesEveryLayer(t *testing.T) {
	src := &testSource{Source: NewPattern(Options{Size: image.Pt(64, 48)})}
	p, m, sc, stop := start(t, Config{Source: src})
	waitFor(t, "20 frames", frames(p, 20))
	s := p.Snapshot()
	if s == nil {
		t.Fatal("no snapshot after 20 frames")
	}
	size := src.Info().Size
	checkSnapshot(t, m, sc, s, cropAspect(PatternFrame(size, s.Frame.Pos), 1, 1))
	// Unpaced: the reader reads only when the network is ready, so no
	// frame is dropped and snapshot n shows frame n-1.
	if s.Frame.Pos != int(s.Seq)-1 {
		t.Errorf("snapshot %d shows frame %d", s.Seq, s.Frame.Pos)
	}
	if s.Source.Kind != KindPattern || s.Times.Forward <= 0 {
		t.Errorf("snapshot source %v times %+v", s.Source, s.Times)
	}
	s.Release()
	st := p.Stats()
	if st.Dropped != 0 || st.Errors != 0 || st.FPS <= 0 || st.Mean.Forward <= 0 || st.Mean.Preprocess <= 0 || st.Source.Kind != KindPattern {
		t.Errorf("stats %+v", st)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if !src.isClosed() {
		t.Error("Run did not close the source")
	}
	if err := p.Run(context.Background()); err == nil {
		t.Error("a second Run succeeded")
	}
}

// A snapshot a slow UI holds stays intact while the pipeline goes on.
func TestPipelineSnapshotLifetime(t *testing.T) {
	p, _, _, _ := start(t, Config{Source: NewPattern(Options{Size: image.Pt(64, 48)})})
	waitFor(t, "a frame", frames(p, 1))
	held := p.Snapshot()
	copies := map[string][]float32{}
	for _, name := range append([]string{"x"}, tinyLayers...) {
		v, err := held.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		copies[name] = slices.Clone(v.Data)
	}
	pix := slices.Clone(held.Frame.Image.Pix)
	waitFor(t, "30 more frames", frames(p, held.Seq+30))
	for name, want := range copies {
		v, _ := held.Get(name)
		if !slices.Equal(v.Data, want) {
			t.Fatalf("layer %s of a held snapshot was overwritten", name)
		}
	}
	if !slices.Equal(held.Frame.Image.Pix, pix) {
		t.Fatal("the frame of a held snapshot was overwritten")
	}
	other := held.Retain()
	held.Release()
	if _, err := other.Get("relu"); err != nil {
		t.Fatalf("a snapshot with a reference left was released: %v", err)
	}
	other.Release()
	if _, err := other.Get("relu"); err == nil {
		t.Fatal("a fully released snapshot still gives its layers")
	}
	defer func() {
		if recover() == nil {
			t.Error("releasing a snapshot too often did not panic")
		}
	}()
	other.Release()
}

// A source that fails now and then does not stop the stream.
func TestPipelineIntermittentSource(t *testing.T) {
	var lg logger
	src := &testSource{Source: NewPattern(Options{Size: image.Pt(64, 48)}), failEvery: 3}
	p, _, _, stop := start(t, Config{Source: src, Log: lg.log, Fallback: func() (Source, error) {
		return nil, errors.New("the fallback must not be used")
	}})
	waitFor(t, "30 frames", frames(p, 30))
	st := p.Stats()
	if st.Errors < 10 || st.Fallbacks != 0 || st.Source.Kind != KindPattern || !strings.Contains(st.LastError, "flaky source") {
		t.Errorf("stats %+v", st)
	}
	if !lg.has("flaky source: call 3 failed") {
		t.Errorf("errors not logged: %q", lg.msgs)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// A source that fails for good falls back to the configured fallback.
func TestPipelineFallback(t *testing.T) {
	var lg logger
	dead := &testSource{Source: NewPattern(Options{}), dead: true}
	p, _, _, _ := start(t, Config{Source: dead, Log: lg.log, MaxErrors: 3, Fallback: func() (Source, error) {
		return NewPattern(Options{Size: image.Pt(64, 48)}), nil
	}})
	waitFor(t, "frames from the fallback", frames(p, 5))
	st := p.Stats()
	if st.Fallbacks != 1 || st.Errors != 3 || st.Source.Size != image.Pt(64, 48) {
		t.Errorf("stats %+v", st)
	}
	if !dead.isClosed() {
		t.Error("the failed source was not closed")
	}
	if !lg.has("failed 3 times in a row (flaky source: call 3 failed); falling back to test pattern") {
		t.Errorf("no fallback message: %q", lg.msgs)
	}
}

// Without a fallback, a dead source leaves the pipeline waiting, retrying
// with a growing pause, and it still stops at once.
func TestPipelineDeadSourceNoFallback(t *testing.T) {
	dead := &testSource{Source: NewPattern(Options{}), dead: true}
	p, _, _, stop := start(t, Config{Source: dead})
	time.Sleep(150 * time.Millisecond)
	st := p.Stats()
	// Pauses of 10, 20, 40, 80 ms: a handful of tries, not thousands.
	if st.Errors < 2 || st.Errors > 8 || st.Frames != 0 {
		t.Errorf("stats %+v", st)
	}
	start := time.Now()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("stopping took %v", d)
	}
}

// A paced source faster than the network: stale frames are dropped and
// counted, and what is processed is recent.
func TestPipelineDropsStaleFrames(t *testing.T) {
	src := NewPattern(Options{Realtime: true, FPS: 400, Size: image.Pt(32, 32)})
	p, _, _, _ := start(t, Config{Source: src, MaxFPS: 25})
	// A 400 fps source into a 25 fps network drops 15 frames of 16 (fewer
	// on a loaded machine, hence a wait rather than a deadline).
	waitFor(t, "6 frames and 20 dropped", func() bool { st := p.Stats(); return st.Frames >= 6 && st.Dropped >= 20 })
	st := p.Stats()
	s := p.Snapshot()
	defer s.Release()
	// Shown in order, frame Pos would be about the frames processed; the
	// newest one is past those and (all but one interval's worth of) the
	// dropped ones.
	if uint64(s.Frame.Pos) < st.Frames+st.Dropped/2 {
		t.Errorf("snapshot %d shows frame %d after %d frames processed and %d dropped: not the newest", s.Seq, s.Frame.Pos, st.Frames, st.Dropped)
	}
}

func TestPipelineControls(t *testing.T) {
	size := image.Pt(48, 32)
	p, m, sc, _ := start(t, Config{Source: NewPattern(Options{Size: size})})
	waitFor(t, "a frame", frames(p, 3))
	latest := func() *Snapshot {
		s := p.Snapshot()
		t.Cleanup(s.Release)
		return s
	}
	p.Freeze()
	time.Sleep(20 * time.Millisecond) // a frame in flight may land
	frozen := latest()
	time.Sleep(50 * time.Millisecond)
	if s := latest(); s.Seq != frozen.Seq || !p.Settings().Frozen {
		t.Fatalf("frozen at snapshot %d, now %d", frozen.Seq, s.Seq)
	}
	pos := frozen.Frame.Pos

	// Mirror while frozen processes the same frame again, mirrored.
	p.SetMirror(true)
	waitFor(t, "the mirrored frame", frames(p, frozen.Seq+1))
	s := latest()
	checkSnapshot(t, m, sc, s, mirror(cropAspect(PatternFrame(size, pos), 1, 1)))
	if s.Frame.Pos != pos || !s.Settings.Mirror {
		t.Fatalf("mirrored snapshot shows frame %d, settings %+v", s.Frame.Pos, s.Settings)
	}

	// Stretch: the whole frame.
	p.SetFit(Stretch)
	waitFor(t, "the stretched frame", frames(p, s.Seq+1))
	s = latest()
	if s.Frame.Image.Rect.Size() != size || s.Settings.Fit != Stretch {
		t.Fatalf("stretched frame %v, settings %+v", s.Frame.Image.Rect, s.Settings)
	}
	p.SetMirror(false)
	p.SetFit(Crop)
	waitFor(t, "crop again", func() bool { s := p.Snapshot(); defer s.Release(); return s.Settings == Settings{Frozen: true} })

	// Step while frozen: exactly one frame, the next one; then back.
	for _, step := range []int{1, -1, 5} {
		before := latest()
		p.Step(step)
		waitFor(t, "the stepped frame", frames(p, before.Seq+1))
		time.Sleep(30 * time.Millisecond)
		s := latest()
		if s.Seq != before.Seq+1 || s.Frame.Pos != before.Frame.Pos+step {
			t.Fatalf("Step(%d) from frame %d (snapshot %d): snapshot %d shows frame %d", step, before.Frame.Pos, before.Seq, s.Seq, s.Frame.Pos)
		}
		checkSnapshot(t, m, sc, s, cropAspect(PatternFrame(size, s.Frame.Pos), 1, 1))
	}

	p.Unfreeze()
	n := p.Stats().Frames
	waitFor(t, "frames after unfreezing", frames(p, n+10))
}

func TestPipelineSwitchSource(t *testing.T) {
	first := &testSource{Source: NewPattern(Options{})}
	p, _, _, stop := start(t, Config{Source: first, Settings: Settings{Frozen: true}})
	// Frozen from the start: nothing yet.
	time.Sleep(30 * time.Millisecond)
	if n := p.Stats().Frames; n != 0 {
		t.Fatalf("%d frames processed while frozen", n)
	}
	path := filepath.Join(t.TempDir(), "still.png")
	writePNG(t, path, solid(20, 10, color.RGBA{0, 0, 255, 255}))
	still, err := OpenStill(path, Options{Manual: true})
	if err != nil {
		t.Fatal(err)
	}
	// Switching while frozen shows the new source's first frame.
	p.SwitchSource(still)
	waitFor(t, "the still image", frames(p, 1))
	s := p.Snapshot()
	defer s.Release()
	if s.Source.Kind != KindStill || s.Frame.Image.RGBAAt(0, 0).B != 255 {
		t.Fatalf("snapshot from %v", s.Source)
	}
	waitFor(t, "the old source closed", first.isClosed)
	if k := p.Stats().Source.Kind; k != KindStill {
		t.Fatalf("stats source %s", k)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestNewErrors(t *testing.T) {
	m, sc := tinyModel(t)
	if _, err := New(m, sc, Config{}); err == nil {
		t.Error("New without a source succeeded")
	}
	big := *sc
	big.Input.Width = 64
	if _, err := New(m, &big, Config{Source: NewPattern(Options{})}); err == nil || !strings.Contains(err.Error(), "1x3x32x32") {
		t.Errorf("New with a sidecar that does not fit: %v", err)
	}
}

// The real network: every layer computed for each frame.
func TestPipelineTinyDarknet(t *testing.T) {
	path := sharedFile(t, "models/tiny_darknet.onnx")
	m, err := model.Load(path, model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := model.LoadSidecar(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.FitInput(m.Input().Shape); err != nil {
		t.Fatal(err)
	}
	p, err := New(m, sc, Config{Source: NewPattern(Options{})})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	waitFor(t, "2 frames", frames(p, 2))
	s := p.Snapshot()
	for _, l := range m.Layers {
		v, err := s.Get(l.Name)
		if err != nil {
			t.Fatalf("layer %s: %v", l.Name, err)
		}
		if !model.SameShape(v.Shape, l.Shape) {
			t.Fatalf("layer %s has shape %v, want %v", l.Name, v.Shape, l.Shape)
		}
	}
	s.Release()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// BenchmarkPipelineVideo measures the live path on the shared video and
// tiny_darknet: one op is one frame through every layer.
func BenchmarkPipelineVideo(b *testing.B) {
	path := sharedFile(b, "models/tiny_darknet.onnx")
	m, err := model.Load(path, model.Options{})
	if err != nil {
		b.Fatal(err)
	}
	sc, err := model.LoadSidecar(path)
	if err != nil {
		b.Fatal(err)
	}
	src, err := OpenVideo(sharedFile(b, "video/bottle-detection.mp4"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	p, err := New(m, sc, Config{Source: src})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	b.ResetTimer()
	go func() { done <- p.Run(ctx) }()
	for p.Stats().Frames < uint64(b.N) {
		<-p.Updated()
	}
	b.StopTimer()
	st := p.Stats()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(st.Mean.Preprocess.Seconds()*1000, "preprocess-ms")
	b.ReportMetric(st.Mean.Forward.Seconds()*1000, "forward-ms")
	b.ReportMetric(st.Mean.Source.Seconds()*1000, "source-ms")
}

// Background jobs share the model and run backward passes on retained
// snapshots while the pipeline streams.
func TestPipelineBackgroundJobs(t *testing.T) {
	p, m, _, _ := start(t, Config{Source: NewPattern(Options{Size: image.Pt(64, 48)})})
	waitFor(t, "a frame", frames(p, 1))
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				s := p.Snapshot()
				logits, err := s.Get("logits")
				if err != nil {
					errs <- err
					return
				}
				seed := model.NewTensor(logits.Shape...)
				seed.Data[1] = 1
				g, err := m.Backward(s.Activations(), map[string]*model.Tensor{"logits": seed}, model.Guided, "x")
				s.Release()
				if err != nil {
					errs <- err
					return
				}
				if !model.SameShape(g["x"].Shape, []int{1, 3, 32, 32}) {
					errs <- fmt.Errorf("input gradient of shape %v", g["x"].Shape)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	n := p.Stats().Frames
	waitFor(t, "the stream going on", frames(p, n+5))
}
