package camera

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/deepscope/deepscope/model"
)

// Config configures a pipeline.
type Config struct {
	// Source is where frames come from (required). The pipeline owns it:
	// Run closes it.
	Source Source
	// Fallback opens the source to use when the current one fails
	// MaxErrors times in a row (a camera unplugged, a video deleted): for
	// example the test pattern. Nil: keep retrying the failing source.
	Fallback func() (Source, error)
	// MaxErrors is the number of errors in a row after which a source
	// counts as failed (default 5). Unreadable files in a folder
	// (ErrSkipped) do not count.
	MaxErrors int
	// Settings are the initial input controls.
	Settings Settings
	// MaxFPS caps the frame rate, leaving the processors to background
	// jobs that share the model (0: as fast as frames come).
	MaxFPS float64
	// Log receives messages for the user (source errors, fallbacks), one
	// line each, from the pipeline's goroutines. Nil discards them.
	Log func(msg string)
}

// StageTimes are the times of the pipeline's stages for one frame. Source
// and Preprocess run on the reader goroutine, overlapping the network's
// work on the previous frame; the other stages on the processing
// goroutine.
type StageTimes struct {
	// Source is the time the source took to deliver the frame: decoding
	// it, or waiting for a paced source's next frame.
	Source time.Duration
	// Preprocess is crop, mirror, resize and normalisation.
	Preprocess time.Duration
	// Wait is the time the processing goroutine waited for the frame.
	Wait time.Duration
	// Forward is the forward pass through every layer.
	Forward time.Duration
	// Publish is handing the snapshot over.
	Publish time.Duration
}

// Stats describe a pipeline's work since Run began.
type Stats struct {
	// Source describes the current source.
	Source Info
	// Frames counts the frames processed (a frame processed again after
	// a control change counts again).
	Frames uint64
	// Dropped counts frames the sources delivered that were never
	// processed: replaced by a newer one while the network was busy, or
	// captured while frozen.
	Dropped uint64
	// Errors counts source errors; Fallbacks the switches to the
	// fallback source.
	Errors, Fallbacks int
	// LastError is the last source error ("" when none).
	LastError string
	// Elapsed is the time since Run began.
	Elapsed time.Duration
	// FPS is the recent rate of processed frames.
	FPS float64
	// Mean are the mean stage times per processed frame.
	Mean StageTimes
}

// Pipeline runs source -> preprocess -> forward (every layer) -> snapshot
// on its own goroutines: a reader that takes frames from the source,
// preprocesses them and leaves them in a latest-frame mailbox (a slow
// network drops stale frames instead of queueing them), and a processor
// that runs the network on the newest one and publishes a Snapshot; the
// two overlap. The model is only read: background jobs may use it (and
// the snapshots' activations) concurrently.
type Pipeline struct {
	m       *model.Model
	crop    *model.Sidecar // preprocessing for Crop
	stretch *model.Sidecar // preprocessing for Stretch
	cfg     Config
	frames  *Latest[frameIn]
	ctl     *controls
	inputs  chan *model.Tensor // free input tensors
	updated chan struct{}
	running atomic.Bool

	mu           sync.Mutex // guards the fields below
	src          Source     // the reader's current source
	pending      Source     // set by SwitchSource
	cancelSource context.CancelFunc
	snap         *Snapshot
	stats        Stats
	sum          StageTimes
	start        time.Time
	lastDone     time.Time
	interval     float64 // moving average of the time between frames, s
	frozenDrops  uint64
}

// frameIn is a frame in the mailbox: as read, and preprocessed per set.
type frameIn struct {
	raw    Frame
	source Info
	read   time.Duration // in the source's Next
	prepared
}

// prepared is a frame ready for the network.
type prepared struct {
	view Frame         // the picture the network sees, before resizing
	x    *model.Tensor // the network input
	set  Settings      // the settings view and x follow
	prep time.Duration // preprocessing time
}

// New returns a pipeline feeding frames to m, preprocessed per sc (which
// must match the model's input: see Sidecar.FitInput).
func New(m *model.Model, sc *model.Sidecar, cfg Config) (*Pipeline, error) {
	switch {
	case m == nil:
		return nil, errors.New("camera: New: no model")
	case sc == nil:
		return nil, errors.New("camera: New: no sidecar")
	case cfg.Source == nil:
		return nil, errors.New("camera: New: no source")
	}
	if err := checkInput(m, sc); err != nil {
		return nil, err
	}
	if cfg.MaxErrors <= 0 {
		cfg.MaxErrors = 5
	}
	stretch := *sc
	stretch.Input.Resize = model.ResizeStretch
	return &Pipeline{
		m:       m,
		crop:    sc,
		stretch: &stretch,
		cfg:     cfg,
		frames:  NewLatest[frameIn](),
		ctl:     newControls(cfg.Settings),
		inputs:  make(chan *model.Tensor, 8),
		updated: make(chan struct{}, 1),
		src:     cfg.Source,
	}, nil
}

// checkInput checks that the preprocessed input fits the model.
func checkInput(m *model.Model, sc *model.Sidecar) error {
	in := m.Input()
	want := []int{1, sc.Channels(), sc.Input.Height, sc.Input.Width}
	if in.DType != model.Float32 || len(in.Shape) != 4 {
		return fmt.Errorf("camera: model %s wants a %s %s input, not an image", m.Name, model.ShapeString(in.Shape), in.DType)
	}
	for i, d := range in.Shape {
		if d > 0 && d != want[i] {
			return fmt.Errorf("camera: model %s wants input %s, the preprocessing makes %s", m.Name, model.ShapeString(in.Shape), model.ShapeString(want))
		}
	}
	return nil
}

// Model returns the pipeline's model.
func (p *Pipeline) Model() *model.Model { return p.m }

// Snapshot returns the newest snapshot with a reference the caller must
// Release, or nil before the first frame.
func (p *Pipeline) Snapshot() *Snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.snap == nil {
		return nil
	}
	return p.snap.Retain()
}

// Updated returns a channel that receives a value when a new snapshot is
// published (one value for any number of snapshots not yet noticed).
func (p *Pipeline) Updated() <-chan struct{} { return p.updated }

// Stats returns the pipeline's statistics.
func (p *Pipeline) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	if p.src != nil {
		s.Source = p.src.Info()
	}
	if !p.start.IsZero() {
		s.Elapsed = time.Since(p.start)
	}
	_, dropped := p.frames.Counts()
	s.Dropped = dropped + p.frozenDrops
	if n := time.Duration(s.Frames); n > 0 {
		s.Mean = StageTimes{Source: p.sum.Source / n, Preprocess: p.sum.Preprocess / n, Wait: p.sum.Wait / n, Forward: p.sum.Forward / n, Publish: p.sum.Publish / n}
	}
	if p.interval > 0 {
		s.FPS = 1 / p.interval
	}
	return s
}

// Run processes frames until ctx is done, then closes the source and
// returns nil. Source errors do not end it (see Config); a forward pass
// that fails (a model the preprocessed frames do not fit) does, with the
// error. A pipeline runs once.
func (p *Pipeline) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("camera: pipeline already ran")
	}
	p.mu.Lock()
	p.start = time.Now()
	p.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		p.read(ctx)
	}()
	err := p.process(ctx)
	cancel()
	<-readerDone
	return err
}

func (p *Pipeline) log(format string, args ...any) {
	if p.cfg.Log != nil {
		p.cfg.Log(fmt.Sprintf(format, args...))
	}
}

// read is the reader goroutine: it takes frames from the current source
// into the mailbox, survives source errors, falls back when a source
// fails, and switches sources on request. It closes the last source.
func (p *Pipeline) read(ctx context.Context) {
	src := p.cfg.Source
	sctx, cancel := p.useSource(ctx, src)
	defer func() {
		cancel()
		src.Close()
		p.mu.Lock()
		if p.pending != nil {
			p.pending.Close()
			p.pending = nil
		}
		p.mu.Unlock()
	}()
	failures := 0     // errors in a row
	fellBack := false // the current source is the fallback
	for ctx.Err() == nil {
		if next := p.takePending(); next != nil {
			cancel()
			src.Close()
			src, failures, fellBack = next, 0, false
			sctx, cancel = p.useSource(ctx, src)
			p.discardFrame() // the old source's
		}
		info := src.Info()
		if !info.Live {
			if err := p.waitThawed(sctx); err != nil {
				continue // switched or done
			}
		}
		if !info.Paced {
			if err := p.frames.WaitEmpty(sctx); err != nil {
				continue
			}
		}
		t0 := time.Now()
		f, err := src.Next(sctx)
		read := time.Since(t0)
		if sctx.Err() != nil {
			continue // switched or done: the frame, if any, is stale
		}
		if err != nil {
			skipped := errors.Is(err, ErrSkipped)
			if !skipped {
				failures++
			}
			// Each skipped file is news; a source failing over and over
			// is reported at first, when it counts as failed, then once
			// a minute or so.
			p.sourceError(err, skipped || failures == 1 || failures == p.cfg.MaxErrors || failures%60 == 0)
			if skipped {
				continue
			}
			if failures >= p.cfg.MaxErrors && !fellBack && p.cfg.Fallback != nil {
				fb, ferr := p.cfg.Fallback()
				if ferr != nil {
					p.log("%s failed %d times in a row; the fallback failed too: %v", info.Name, failures, ferr)
				} else {
					p.log("%s failed %d times in a row (%v); falling back to %s", info.Name, failures, err, fb.Info().Name)
					cancel()
					src.Close()
					src, failures, fellBack = fb, 0, true
					sctx, cancel = p.useSource(ctx, src)
					p.mu.Lock()
					p.stats.Fallbacks++
					p.mu.Unlock()
					continue
				}
			}
			sleep(sctx, backoff(failures))
			continue
		}
		if failures >= p.cfg.MaxErrors {
			p.log("%s delivers frames again", info.Name)
		}
		failures = 0
		if !p.ctl.admit() {
			p.mu.Lock()
			p.frozenDrops++
			p.mu.Unlock()
			continue
		}
		set, _ := p.ctl.get()
		in := frameIn{raw: f, source: info, read: read, prepared: p.prepare(f, set)}
		if old, dropped := p.frames.Put(in); dropped {
			p.putInput(old.x)
		}
	}
}

// prepare crops, mirrors and preprocesses a frame per set.
func (p *Pipeline) prepare(f Frame, set Settings) prepared {
	t0 := time.Now()
	sc := p.crop
	if set.Fit == Stretch {
		sc = p.stretch
	}
	view := f
	view.Image = set.view(f.Image, sc.Input.Width, sc.Input.Height)
	var x *model.Tensor
	select {
	case x = <-p.inputs:
	default:
	}
	x = sc.PreprocessInto(x, view.Image)
	return prepared{view: view, x: x, set: set, prep: time.Since(t0)}
}

// discardFrame empties the mailbox.
func (p *Pipeline) discardFrame() {
	if f, ok := p.frames.TryTake(); ok {
		p.putInput(f.x)
	}
}

// putInput keeps an input tensor for reuse.
func (p *Pipeline) putInput(x *model.Tensor) {
	if x == nil {
		return
	}
	select {
	case p.inputs <- x:
	default:
	}
}

// backoff is the pause before retrying a source after n errors in a row.
func backoff(n int) time.Duration {
	return min(10*time.Millisecond<<min(n-1, 10), time.Second)
}

// useSource makes src the current source and returns the context its
// Next calls use, cancelled by SwitchSource.
func (p *Pipeline) useSource(ctx context.Context, src Source) (context.Context, context.CancelFunc) {
	sctx, cancel := context.WithCancel(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.src = src
	p.cancelSource = cancel
	if p.pending != nil {
		cancel() // a switch is already waiting
	}
	return sctx, cancel
}

func (p *Pipeline) takePending() Source {
	p.mu.Lock()
	defer p.mu.Unlock()
	next := p.pending
	p.pending = nil
	return next
}

// waitThawed waits while the picture is frozen with no Step pending.
func (p *Pipeline) waitThawed(ctx context.Context) error {
	for {
		paused, changed := p.ctl.paused()
		if !paused {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

func (p *Pipeline) sourceError(err error, report bool) {
	p.mu.Lock()
	p.stats.Errors++
	p.stats.LastError = err.Error()
	p.mu.Unlock()
	if report {
		p.log("%v", err)
	}
}

// sameInput reports whether two settings give the same network input.
func sameInput(a, b Settings) bool { return a.Fit == b.Fit && a.Mirror == b.Mirror }

// process is the processing loop: it runs the network on the newest
// frame, or on the last one again when the crop or mirror setting changes.
func (p *Pipeline) process(ctx context.Context) error {
	var (
		last    frameIn
		have    bool
		pace    = newPacer(p.cfg.MaxFPS)
		waiting time.Time
	)
	for {
		set, changed := p.ctl.get()
		in := last
		if !have || sameInput(set, last.set) {
			if waiting.IsZero() {
				waiting = time.Now()
			}
			select {
			case <-ctx.Done():
				return nil
			case <-changed:
				continue
			case <-p.frames.Ready():
				f, ok := p.frames.TryTake()
				if !ok {
					continue
				}
				in = f
			}
		} else {
			in.read, in.x = 0, nil // the same frame again
		}
		wait := time.Duration(0)
		if !waiting.IsZero() {
			wait = time.Since(waiting)
			waiting = time.Time{}
		}
		if set, _ = p.ctl.get(); in.x == nil || !sameInput(set, in.set) {
			p.putInput(in.x)
			in.prepared = p.prepare(in.raw, set)
		}
		if err := p.processFrame(in, set, wait); err != nil {
			return err
		}
		last, have = in, true
		if err := pace.wait(ctx); err != nil {
			return nil
		}
	}
}

// processFrame runs the network on a frame prepared for settings like set
// and publishes the snapshot.
func (p *Pipeline) processFrame(f frameIn, set Settings, wait time.Duration) error {
	t1 := time.Now()
	acts, err := p.m.Run(f.x)
	if err != nil {
		p.putInput(f.x)
		return fmt.Errorf("forward pass on a frame of %s: %w", f.source.Name, err)
	}
	t2 := time.Now()
	s := &Snapshot{
		Frame:    f.view,
		Source:   f.source,
		Settings: set,
		Input:    f.x,
		acts:     acts,
		release:  p.recycle,
	}
	s.refs.Store(1)
	s.Times = StageTimes{Source: f.read, Preprocess: f.prep, Wait: wait, Forward: t2.Sub(t1)}

	p.mu.Lock()
	old := p.snap
	p.stats.Frames++
	s.Seq = p.stats.Frames
	p.snap = s
	s.Done = time.Now()
	s.Times.Publish = s.Done.Sub(t2)
	p.sum.Source += s.Times.Source
	p.sum.Wait += s.Times.Wait
	p.sum.Preprocess += s.Times.Preprocess
	p.sum.Forward += s.Times.Forward
	p.sum.Publish += s.Times.Publish
	if !p.lastDone.IsZero() {
		dt := s.Done.Sub(p.lastDone).Seconds()
		if p.interval == 0 {
			p.interval = dt
		} else {
			p.interval += 0.1 * (dt - p.interval)
		}
	}
	p.lastDone = s.Done
	p.mu.Unlock()
	if old != nil {
		old.Release()
	}
	select {
	case p.updated <- struct{}{}:
	default:
	}
	return nil
}

// recycle takes back the input tensor of a released snapshot.
func (p *Pipeline) recycle(s *Snapshot) {
	p.putInput(s.Input)
	s.Input = nil
}
