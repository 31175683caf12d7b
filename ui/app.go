package ui

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/deepscope/deepscope/assets"
	"github.com/deepscope/deepscope/camera"
	"github.com/deepscope/deepscope/model"
	"github.com/deepscope/deepscope/vis"
)

// Options configure the explorer.
type Options struct {
	// Model is the ONNX file to open ("": none, the window asks).
	Model string
	// Source is where frames come from, as camera.Open takes it ("":
	// the webcam, falling back to the test pattern).
	Source string
	// Select is the unit selected at start, "LAYER:UNIT" ("": the default
	// layer's unit 0).
	Select string
	// Method is the rendering at start ("": guided).
	Method string
	// Presentation starts in presentation mode.
	Presentation bool
	// ExportDir is where 'S' exports ("": ~/deepscope-export).
	ExportDir string
	// Log receives messages (source errors, exports), one line each.
	Log io.Writer
}

// session is one open model with its pipeline.
type session struct {
	path   string
	m      *model.Model
	sc     *model.Sidecar
	labels []string
	logits string
	space  vis.PixelSpace
	bgr    bool
	layers []LayerInfo

	pipe   *camera.Pipeline // nil in tests
	cancel context.CancelFunc
	done   chan struct{}
}

// label returns the name of class i.
func (s *session) label(i int) string {
	if i >= 0 && i < len(s.labels) && s.labels[i] != "" {
		return s.labels[i]
	}
	return "class " + strconv.Itoa(i)
}

// stop ends the session's pipeline and waits for it.
func (s *session) stop() {
	if s != nil && s.cancel != nil {
		s.cancel()
		<-s.done
	}
}

// renderSlot is the job slot of the inspector's rendering.
const renderSlot = "render"

// staleAfter is how far a rendering's frame may lag the frame shown
// before the rendering counts as stale. On a moving picture renderings
// always lag a little (they are computed after the frame, and rest
// between them); a rendering of another unit is stale at once.
const staleAfter = 2 * time.Second

// Renderings of the same unit on a moving picture pause between them for
// a share of the last one's time: renderRest, or renderRestBehind while
// the stream runs slower than it should (its source's frame rate, at most
// targetFPS): the live picture shares the processors with the renderings
// and comes first. A new selection starts at once.
const (
	renderRest       = 0.5
	renderRestBehind = 2
	targetFPS        = 20
)

// App is the explorer: a window, the open model and its pipeline, the
// state and the background jobs.
type App struct {
	fa   fyne.App
	win  fyne.Window
	opts Options
	// sync: no pipeline and no frame goroutine; frames come from show and
	// every change redraws at once (tests).
	sync bool

	ctx      context.Context
	cancel   context.CancelFunc
	loopDone chan struct{}
	redraw   chan struct{}
	applied  chan struct{} // holds a token when no composed frame waits for the UI
	jobs     Jobs
	closed   atomic.Bool
	behind   atomic.Bool // the stream runs slower than it should
	// compute computes a rendering (computeMap; tests replace it).
	compute func(ctx context.Context, m *model.Model, f *frame, k renderKey, t vis.Target, progress func(done, total int)) (*vis.Map, error)

	mu         sync.Mutex // guards the fields below
	st         State
	sess       *session
	cur        *frame     // the newest frame
	result     *rendering // the newest finished rendering
	runningKey renderKey  // of the rendering job running
	sourceSpec string     // the current source
	fileSpec   string     // the last source that is not the webcam
	message    string
	messageAt  time.Time
	rendered   uint64 // renderings finished

	drawMu     sync.Mutex // one draw at a time; guards the pools and the rates below
	gridPool   imagePool
	inputPool  imagePool
	actPool    imagePool
	uiFPS      float64
	uiInterval float64 // moving average of the time between new frames shown, s
	lastSeq    uint64
	lastSeqAt  time.Time
	drawnAt    time.Time

	// Widgets, touched on the UI goroutine only.
	grid      *gridView
	gridTitle *widget.Label
	input     *inputPane
	insp      *inspector
	status    *statusBar
	layerList *widget.List
	left      *fyne.Container
	help      *widget.PopUp
	shown     *composed
	hover     int
	syncing   bool

	// Images by optimization and dataset mining in the inspector
	// (optimizepane.go, pattern.go, topnine.go, inspectortabs.go).
	opt  optimizer
	top9 topNine
	tabs *inspectorTabs
}

// Run opens the explorer window and returns when it is closed.
func Run(fa fyne.App, opts Options) error {
	a, err := New(fa, opts)
	if err != nil {
		return err
	}
	a.win.ShowAndRun()
	a.Close()
	return nil
}

// New builds the explorer window for opts, loads the model and starts the
// pipeline. The caller shows the window (or calls Run instead).
func New(fa fyne.App, opts Options) (*App, error) {
	a := newApp(fa, opts, false)
	go a.loop()
	if opts.Model != "" {
		if err := a.openModel(opts.Model); err != nil {
			a.Close()
			return nil, err
		}
	}
	return a, nil
}

// newApp builds the window; sync selects the test mode.
func newApp(fa fyne.App, opts Options, sync bool) *App {
	a := &App{fa: fa, opts: opts, sync: sync, redraw: make(chan struct{}, 1), loopDone: make(chan struct{}), hover: -1,
		applied: make(chan struct{}, 1)}
	a.applied <- struct{}{}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.st = NewState(nil, 0)
	if opts.Method != "" {
		a.st.Method = opts.Method
	}
	a.st.Presentation = opts.Presentation
	a.sourceSpec = opts.Source
	if a.sourceSpec == "" {
		a.sourceSpec = "webcam"
	}
	if a.sourceSpec != "webcam" && !strings.HasPrefix(a.sourceSpec, "webcam:") && !strings.HasPrefix(a.sourceSpec, "/dev/video") {
		a.fileSpec = a.sourceSpec
	}
	a.compute = computeMap
	a.jobs.OnChange = func(*Job) { a.kickAsync() }
	fa.SetIcon(appIcon())
	fa.Settings().SetTheme(newTheme(1))
	a.win = fa.NewWindow("deepscope")
	a.build()
	if sync {
		close(a.loopDone)
	}
	return a
}

// Window returns the explorer's window.
func (a *App) Window() fyne.Window { return a.win }

// Close stops the pipeline and the jobs and releases the frames. The
// window is left to its owner.
func (a *App) Close() {
	if a.closed.Swap(true) {
		return
	}
	a.cancel()
	<-a.loopDone
	a.jobs.Stop()
	a.mu.Lock()
	sess, cur := a.sess, a.cur
	a.cur, a.result = nil, nil
	a.mu.Unlock()
	sess.stop()
	cur.drop()
}

// logf reports a message in the status bar and the log.
func (a *App) logf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	a.mu.Lock()
	a.message, a.messageAt = msg, time.Now()
	a.mu.Unlock()
	if a.opts.Log != nil {
		fmt.Fprintf(a.opts.Log, "deepscope: gui: %s\n", strings.Join(strings.Fields(msg), " "))
	}
	a.kickAsync()
}

// kickAsync asks for a redraw from a goroutine of ours (a job, the
// pipeline's log). In test mode it does nothing: tests draw on their own
// goroutine, which owns the widgets there.
func (a *App) kickAsync() {
	if !a.sync {
		a.kick()
	}
}

// kick asks for a redraw: the frame goroutine composes the panes again.
func (a *App) kick() {
	if a.sync {
		if !a.closed.Load() {
			a.draw()
		}
		return
	}
	select {
	case a.redraw <- struct{}{}:
	default:
	}
}

// loop is the frame goroutine: it takes each new snapshot of the
// pipeline, schedules the rendering and composes the panes, and redraws on
// request and a few times a second (for the jobs' progress).
func (a *App) loop() {
	defer close(a.loopDone)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		a.mu.Lock()
		sess := a.sess
		a.mu.Unlock()
		var updated <-chan struct{}
		if sess != nil && sess.pipe != nil {
			updated = sess.pipe.Updated()
		}
		select {
		case <-a.ctx.Done():
			return
		case <-updated:
			if s := sess.pipe.Snapshot(); s != nil {
				a.setFrame(sess, snapshotFrame(s))
			}
		case <-a.redraw:
		case <-tick.C:
			if len(a.jobs.All()) == 0 && time.Since(a.lastDraw()) < time.Second {
				continue // nothing moves: no need to paint
			}
		}
		a.draw()
	}
}

// lastDraw returns when the panes were last composed.
func (a *App) lastDraw() time.Time {
	a.drawMu.Lock()
	defer a.drawMu.Unlock()
	return a.drawnAt
}

// setFrame makes f the newest frame of sess (taking over its reference).
func (a *App) setFrame(sess *session, f *frame) {
	a.mu.Lock()
	if a.sess != sess {
		a.mu.Unlock()
		f.drop()
		return
	}
	old := a.cur
	a.cur = f
	a.mu.Unlock()
	old.drop()
}

// show makes f the newest frame and redraws (tests).
func (a *App) show(f *frame) {
	a.mu.Lock()
	sess := a.sess
	a.mu.Unlock()
	a.setFrame(sess, f)
	a.schedule()
	a.kick()
}

// draw composes the panes for the newest frame and hands them to the
// widgets. It composes while the UI goroutine shows the previous frame,
// but hands a frame over only once the previous one is on the widgets: so
// at most three pooled images are in use (on screen, handed over, being
// composed) and the pools of poolSize never overwrite one that can still
// be painted.
func (a *App) draw() {
	a.drawMu.Lock()
	defer a.drawMu.Unlock()
	a.schedule()
	a.mu.Lock()
	st, sess, f, res := a.st, a.sess, a.cur.retain(), a.result
	a.mu.Unlock()
	defer f.drop()
	c := a.compose(st, sess, f, res)
	a.drawnAt = time.Now()
	a.present(c)
}

// present hands a composed frame to the UI goroutine once the previous
// one has been applied, without waiting for this one.
func (a *App) present(c *composed) {
	if a.sync {
		a.apply(c)
		return
	}
	select {
	case <-a.applied: // the previous frame is on the widgets
	case <-a.ctx.Done():
		return
	}
	fyne.Do(func() {
		defer func() { a.applied <- struct{}{} }()
		if !a.closed.Load() {
			a.apply(c)
		}
	})
}

// update applies f to the state and carries the change out: pipeline
// controls, presentation, the rendering job, a redraw. UI goroutine.
func (a *App) update(f func(State) State) {
	a.mu.Lock()
	old := a.st
	a.st = f(a.st)
	st, sess := a.st, a.sess
	a.mu.Unlock()
	if sess != nil && sess.pipe != nil {
		p := sess.pipe
		if st.Frozen != old.Frozen {
			if st.Frozen {
				p.Freeze()
			} else {
				p.Unfreeze()
			}
		}
		if st.Mirror != old.Mirror {
			p.SetMirror(st.Mirror)
		}
		if st.Stretch != old.Stretch {
			p.SetFit(fitOf(st))
		}
	}
	if st.Presentation != old.Presentation {
		a.setPresentation(st.Presentation)
	}
	if st.Help != old.Help {
		a.showHelp(st.Help)
	}
	a.schedule()
	a.kick()
}

func fitOf(s State) camera.Fit {
	if s.Stretch {
		return camera.Stretch
	}
	return camera.Crop
}

// Key handles a key press (UI goroutine): see Bindings.
func (a *App) Key(key string) {
	var act Action
	a.update(func(s State) State {
		s, act = Key(s, key)
		return s
	})
	switch act {
	case ActQuit:
		a.quit()
	case ActNextFile:
		a.step(1)
	case ActPrevFile:
		a.step(-1)
	case ActToggleCamera:
		a.toggleCamera()
	case ActExport:
		a.exportDefault()
	case ActOptimize:
		a.toggleOptimize()
	}
}

func (a *App) quit() {
	if a.sync {
		return
	}
	a.fa.Quit()
}

// step moves a file source by n.
func (a *App) step(n int) {
	a.mu.Lock()
	sess := a.sess
	a.mu.Unlock()
	if sess != nil && sess.pipe != nil {
		sess.pipe.Step(n)
	}
}

// selectTile selects unit i of the current layer.
func (a *App) selectTile(i int) {
	a.update(func(s State) State { return s.Select(i) })
}

// selectLayer selects layer i.
func (a *App) selectLayer(i int) {
	a.update(func(s State) State { return s.SelectLayer(i) })
}

// State returns the explorer's state.
func (a *App) State() State {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.st
}

// schedule starts the rendering the state asks for when the one running
// or shown does not match it: a different target or method cancels the
// running job at once; a newer frame waits for the running job to end.
func (a *App) schedule() {
	a.scheduleTabs()
	a.mu.Lock()
	defer a.mu.Unlock()
	key, on := wantKey(a.st)
	if !on || a.sess == nil || a.cur == nil || a.closed.Load() {
		a.jobs.Cancel(renderSlot)
		return
	}
	if j := a.jobs.Running(renderSlot); j != nil {
		if a.runningKey == key {
			return
		}
	} else if r := a.result; r != nil && r.key == key {
		rest := renderRest
		if a.behind.Load() {
			rest = renderRestBehind
		}
		if r.seq == a.cur.seq || time.Since(r.finished) < time.Duration(rest*float64(r.took)) {
			return // up to date, or resting (the loop calls again)
		}
	}
	a.startRender(key)
}

// startRender starts rendering key on the newest frame. a.mu is held.
func (a *App) startRender(key renderKey) {
	sess, f, display, compute := a.sess, a.cur.retain(), a.st.Display, a.compute
	a.runningKey = key
	a.jobs.Start(renderSlot, key.String(), func(j *Job) error {
		defer f.drop()
		t0 := time.Now()
		r := &rendering{key: key, seq: f.seq, done: f.done}
		t, err := targetFor(sess.m, key)
		if err == nil {
			r.target = t.String()
			r.m, err = compute(j.Context(), sess.m, f, key, t, j.Progress)
		}
		if j.Cancelled() {
			return context.Canceled
		}
		r.took, r.err = time.Since(t0), err
		if err == nil {
			r.base = image.NewRGBA(image.Rect(0, 0, f.input.Shape[3], f.input.Shape[2]))
			inputPicture(r.base, f.input, sess.space)
			r.display = display
			r.img, r.err = drawRendering(r, display, sess.bgr)
		}
		r.finished = time.Now()
		a.mu.Lock()
		if a.sess == sess {
			a.result = r
			a.rendered++
		}
		a.mu.Unlock()
		return r.err
	})
}

// Rendered returns the number of renderings finished.
func (a *App) Rendered() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rendered
}

// Stats returns the pipeline's statistics and the rate of frames shown.
func (a *App) Stats() (camera.Stats, float64) {
	a.mu.Lock()
	sess := a.sess
	a.mu.Unlock()
	var st camera.Stats
	if sess != nil && sess.pipe != nil {
		st = sess.pipe.Stats()
	}
	a.drawMu.Lock()
	defer a.drawMu.Unlock()
	return st, a.uiFPS
}

// loadSession loads a model and its sidecar: path is a file, a catalog or
// shared model's name, or the embedded demo (assets.OpenModel).
func loadSession(path string) (*session, error) {
	m, sc, path, err := assets.OpenModel(path)
	if err != nil {
		return nil, err
	}
	if err := sc.FitInput(m.Input().Shape); err != nil {
		return nil, err
	}
	return newSession(path, m, sc), nil
}

func newSession(path string, m *model.Model, sc *model.Sidecar) *session {
	s := &session{path: path, m: m, sc: sc, labels: sc.Labels(), logits: vis.LogitLayer(m)}
	c := m.Input().Shape[1]
	s.space = vis.NewPixelSpace(sc, c)
	s.bgr = sc.Input.Color == model.BGR && c == 3
	s.layers = Layers(m, len(s.labels))
	return s
}

// openModel loads the model at path and starts streaming through it.
func (a *App) openModel(path string) error {
	sess, err := loadSession(path)
	if err != nil {
		return err
	}
	return a.useSession(sess)
}

// useSession makes sess the open model: the state is rebuilt for its
// layers (keeping the view settings), the old pipeline stopped and, unless
// in test mode, a new one started on the current source.
func (a *App) useSession(sess *session) error {
	a.mu.Lock()
	old, oldFrame := a.sess, a.cur
	a.sess, a.cur, a.result = nil, nil, nil
	spec := a.sourceSpec
	a.mu.Unlock()
	a.jobs.Cancel(renderSlot)
	old.stop()
	oldFrame.drop()

	if !a.sync {
		if err := a.startPipeline(sess, spec); err != nil {
			return err
		}
	}
	a.mu.Lock()
	prev := a.st
	st := NewState(sess.layers, DefaultLayer(sess.layers, sess.m.Input().Shape[2]))
	st.Method, st.Display, st.Presentation = prev.Method, prev.Display, prev.Presentation
	st.Gamma, st.PerChannel, st.Overlay = prev.Gamma, prev.PerChannel, prev.Overlay
	st.Frozen, st.Mirror, st.Stretch = prev.Frozen, prev.Mirror, prev.Stretch
	st.Camera = spec == "webcam" || strings.HasPrefix(spec, "webcam:") || strings.HasPrefix(spec, "/dev/video")
	if a.opts.Select != "" && a.sess == nil && old == nil {
		l, u, err := parseSelect(a.opts.Select, sess.layers)
		if err != nil {
			a.mu.Unlock()
			sess.stop()
			return err
		}
		st = st.SelectLayer(l).Select(u)
	}
	a.st = st
	a.sess = sess
	a.mu.Unlock()
	a.onSessionChanged(sess)
	a.kick()
	return nil
}

// parseSelect parses "LAYER:UNIT" against the layers.
func parseSelect(s string, layers []LayerInfo) (layer, unit int, err error) {
	i := strings.LastIndex(s, ":")
	name, us := s, "0"
	if i >= 0 {
		name, us = s[:i], s[i+1:]
	}
	unit, err = strconv.Atoi(strings.TrimSpace(us))
	if err != nil || unit < 0 {
		return 0, 0, fmt.Errorf("--select %q: want LAYER:UNIT with a unit number", s)
	}
	for li, l := range layers {
		if l.Name == name {
			if unit >= l.C {
				return 0, 0, fmt.Errorf("--select %q: layer %s has %d units (0..%d)", s, name, l.C, l.C-1)
			}
			return li, unit, nil
		}
	}
	names := make([]string, 0, len(layers))
	for _, l := range layers {
		names = append(names, l.Name)
	}
	return 0, 0, fmt.Errorf("--select %q: no layer %q (layers: %s)", s, name, strings.Join(names, ", "))
}

// camOptions are how the explorer reads files: videos in real time,
// folders and images held until stepped.
func camOptions() camera.Options { return camera.Options{Realtime: true, Manual: true} }

// openSource opens a source, falling back to the test pattern when the
// webcam is missing (with a message).
func (a *App) openSource(spec string) (camera.Source, string, error) {
	src, err := camera.Open(spec, camOptions())
	if err == nil {
		return src, spec, nil
	}
	if !errors.Is(err, camera.ErrNoDevice) {
		return nil, "", err
	}
	fb, ferr := camera.Open("pattern", camOptions())
	if ferr != nil {
		return nil, "", err
	}
	a.logf("%v; showing the test pattern instead", err)
	return fb, "pattern", nil
}

// startPipeline starts sess's pipeline on the source spec.
func (a *App) startPipeline(sess *session, spec string) error {
	src, spec, err := a.openSource(spec)
	if err != nil {
		return err
	}
	a.mu.Lock()
	set := camera.Settings{Frozen: a.st.Frozen, Mirror: a.st.Mirror, Fit: fitOf(a.st)}
	a.sourceSpec = spec
	a.mu.Unlock()
	p, err := camera.New(sess.m, sess.sc, camera.Config{
		Source:   src,
		Fallback: func() (camera.Source, error) { return camera.Open("pattern", camOptions()) },
		Settings: set,
		Log:      func(msg string) { a.logf("%s", msg) },
	})
	if err != nil {
		src.Close()
		return err
	}
	ctx, cancel := context.WithCancel(a.ctx)
	sess.pipe, sess.cancel, sess.done = p, cancel, make(chan struct{})
	go func() {
		defer close(sess.done)
		if err := p.Run(ctx); err != nil {
			a.logf("pipeline stopped: %v", err)
		}
	}()
	return nil
}

// switchSource opens spec (off the UI goroutine) and feeds it to the
// pipeline.
func (a *App) switchSource(spec string) {
	go func() {
		src, got, err := a.openSource(spec)
		if err != nil {
			a.logf("%v", err)
			a.showError(err)
			return
		}
		a.mu.Lock()
		sess := a.sess
		if sess == nil || sess.pipe == nil {
			a.mu.Unlock()
			src.Close()
			return
		}
		a.sourceSpec = got
		webcam := src.Info().Kind == camera.KindWebcam
		a.st.Camera = webcam
		if !webcam {
			a.fileSpec = got
		}
		a.mu.Unlock()
		sess.pipe.SwitchSource(src)
		a.logf("source: %s", src.Info())
		fyne.Do(a.updateTitle)
	}()
}

// toggleCamera switches between the webcam and the files ('c').
func (a *App) toggleCamera() {
	a.mu.Lock()
	camera, file := a.st.Camera, a.fileSpec
	a.mu.Unlock()
	if camera {
		if file == "" {
			file = "pattern"
		}
		a.switchSource(file)
		return
	}
	a.switchSource("webcam")
}

// sourceName describes the current source.
func (a *App) sourceName() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sess != nil && a.sess.pipe != nil {
		return a.sess.pipe.Stats().Source.Name
	}
	return filepath.Base(a.sourceSpec)
}

func (a *App) updateTitle() {
	a.mu.Lock()
	sess := a.sess
	a.mu.Unlock()
	title := "deepscope"
	if sess != nil {
		title += " — " + sess.m.Name
		if src := a.sourceName(); src != "" && src != "." {
			title += " — " + src
		}
	}
	a.win.SetTitle(title)
}

// DefaultModel returns the model `deepscope` opens without arguments:
// $DEEPSCOPE_MODEL, else the embedded demo network (assets.DemoSpec).
func DefaultModel() string {
	if p := os.Getenv("DEEPSCOPE_MODEL"); p != "" {
		return p
	}
	return assets.DemoSpec
}
