package ui

import (
	"context"
	"fmt"
	"image"
	"sync"

	"github.com/deepscope/deepscope/vis"
)

// Images by optimization in the explorer: the inspector's 'optimize' (g)
// runs activation maximization for the cursor unit and shows the image
// forming; pattern mode (s, pattern.go) fills the grid with the images of
// the layer's units. Both share one job slot (one optimization at a time:
// they compete with the live stream for the processors) and one cache of
// images per (layer, unit), so that coming back to a unit shows its image
// at once.

// optSlot is the job slot of the optimizations.
const optSlot = "optimize"

// optEvery is how often, in steps, the optimizer hands the image forming to
// the pane.
const optEvery = 4

// optPreset is the recipe of the explorer's images: the Lucid-like default
// of `deepscope optimize`.
const optPreset = "lucid"

// optKey names a unit by layer name (the cache outlives layer indexes only
// within a session).
type optKey struct {
	Layer string
	Unit  int
}

func (k optKey) String() string { return fmt.Sprintf("%s:%d", k.Layer, k.Unit) }

// optImage is a unit's optimization image, forming or finished.
type optImage struct {
	key         optKey
	img         *image.RGBA // the network's view of the image
	step, steps int
	value       float64 // the objective at the last step
	done        bool    // finished (else forming, or stopped at step)
	stopped     bool    // cancelled before the end
	err         error
}

// optimizeFunc makes the image of unit k of sess's model, calling onStep
// as it forms (every optEvery steps) and progress after every step.
// runOptimization does it; tests replace it.
type optimizeFunc func(ctx context.Context, sess *session, k optKey, onStep func(img *image.RGBA, step, steps int, value float64), progress func(step, steps int)) (*image.RGBA, float64, error)

// optimizer holds the optimization images of the open session and decides
// which one is computed. Its fields are guarded by mu, except thumbs,
// which only compose uses (under the App's drawMu).
type optimizer struct {
	mu        sync.Mutex
	sess      *session             // whose images the cache holds
	cache     map[optKey]*optImage // finished or stopped images, by unit
	forming   *optImage            // of the running job, updated as it forms
	request   optKey               // the inspector asked for this unit (g)
	requested bool
	job       *Job // the running job (nil: none)
	jobKey    optKey
	pattern   bool   // the running job is pattern mode's
	version   uint64 // changes when anything the panes show changes
	run       optimizeFunc

	// thumbs are the images of thumbLayer's units scaled to the grid's
	// tiles, by unit (drawMu).
	thumbs     map[int]patternTile
	thumbLayer string
}

// reset empties the cache for another session. o.mu is held.
func (o *optimizer) reset(sess *session) {
	o.sess, o.cache, o.forming, o.requested = sess, map[optKey]*optImage{}, nil, false
	o.version++
}

// have reports whether unit k has a finished image. o.mu is held.
func (o *optimizer) have(k optKey) bool {
	im := o.cache[k]
	return im != nil && im.done
}

// optWant returns the optimization the explorer should be running for
// state st: the inspector's request, when it is for the cursor unit and
// that unit has no image yet; else, in pattern mode on a layer with
// spatial maps, the next unit without an image (patternNext); ok is false
// when there is none. pattern says which of the two it is.
func optWant(st State, req *optKey, have func(optKey) bool) (k optKey, pattern, ok bool) {
	cur := st.Current()
	if cur.Name == "" {
		return optKey{}, false, false
	}
	if here := (optKey{cur.Name, st.Unit}); req != nil && *req == here && !have(here) {
		return here, false, true
	}
	if !st.Pattern || cur.FC() {
		return optKey{}, false, false
	}
	u, ok := patternNext(cur.C, st.Unit, func(u int) bool { return have(optKey{cur.Name, u}) })
	return optKey{cur.Name, u}, true, ok
}

// scheduleOpt starts, keeps or cancels the optimization job so that it
// matches optWant: moving the cursor away from a requested unit cancels
// its job (and forgets the request), another layer restarts pattern mode.
func (a *App) scheduleOpt() {
	a.mu.Lock()
	st, sess := a.st, a.sess
	a.mu.Unlock()
	o := &a.opt
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cache == nil || o.sess != sess {
		o.reset(sess)
	}
	if o.job != nil && a.jobs.Running(optSlot) != o.job {
		o.job = nil // it ended
	}
	if sess == nil || a.closed.Load() {
		if o.job != nil {
			o.job.Cancel()
		}
		return
	}
	if cur := (optKey{st.Current().Name, st.Unit}); o.requested && o.request != cur {
		o.requested = false
	}
	var req *optKey
	if o.requested {
		req = &o.request
	}
	want, pattern, ok := optWant(st, req, o.have)
	switch {
	case !ok:
		if o.job != nil {
			o.job.Cancel()
		}
	case o.job != nil && o.jobKey == want:
		o.pattern = pattern // a pattern job the user now asks for stays
	default:
		o.start(a, sess, want, pattern)
	}
}

// start runs the optimization of k in the job slot (cancelling the one
// running). o.mu is held.
func (o *optimizer) start(a *App, sess *session, k optKey, pattern bool) {
	run := o.run
	if run == nil {
		run = runOptimization
	}
	name := "optimize " + k.String()
	if pattern {
		name = "pattern " + k.String()
	}
	o.jobKey, o.pattern = k, pattern
	o.forming = &optImage{key: k}
	o.version++
	o.job = a.jobs.Start(optSlot, name, func(j *Job) error {
		ctx, cancel := context.WithCancel(j.Context())
		defer cancel()
		stop := context.AfterFunc(a.ctx, cancel) // closing the window ends it too
		defer stop()
		onStep := func(img *image.RGBA, step, steps int, value float64) {
			o.mu.Lock()
			if o.forming != nil && o.forming.key == k && o.job == j {
				o.forming = &optImage{key: k, img: img, step: step, steps: steps, value: value}
				o.version++
			}
			o.mu.Unlock()
			a.kickAsync() // show it forming
		}
		img, value, err := run(ctx, sess, k, onStep, j.Progress)
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.sess != sess {
			return err
		}
		switch {
		case j.Cancelled() || ctx.Err() != nil:
			// Keep how far it got, to show it as stopped.
			if f := o.forming; f != nil && f.key == k && f.img != nil && !o.have(k) {
				s := *f
				s.stopped = true
				o.cache[k] = &s
			}
			err = context.Canceled
		case err != nil:
			o.cache[k] = &optImage{key: k, err: err}
		default:
			f := o.forming
			steps := 0
			if f != nil {
				steps = f.steps
			}
			o.cache[k] = &optImage{key: k, img: img, value: value, step: steps, steps: steps, done: true}
		}
		if o.forming != nil && o.forming.key == k && o.job == j {
			o.forming = nil
		}
		if o.requested && o.request == k && err == nil {
			o.requested = false
		}
		o.version++
		return err
	})
}

// toggleOptimize is the inspector's 'optimize' (g, the button): it asks
// for the cursor unit's image, or stops its job when it runs. Pattern
// mode's job for the unit is taken over rather than restarted.
func (a *App) toggleOptimize() {
	a.mu.Lock()
	st := a.st
	a.mu.Unlock()
	cur := st.Current()
	if cur.Name == "" {
		return
	}
	k := optKey{cur.Name, st.Unit}
	if a.tabs != nil {
		a.tabs.selectTab(tabOptimize)
	}
	o := &a.opt
	o.mu.Lock()
	running := o.job != nil && a.jobs.Running(optSlot) == o.job && o.jobKey == k
	switch {
	case running && o.requested:
		// Stop: cancel now; the request goes so that pattern mode does
		// not start it again at once.
		o.requested = false
		o.job.Cancel()
		o.mu.Unlock()
		a.kick()
		return
	case o.have(k):
		// Again: a new image replaces the cached one.
		delete(o.cache, k)
	}
	o.request, o.requested = k, true
	o.version++
	o.mu.Unlock()
	a.scheduleOpt()
	a.kick()
}

// optView is what the optimize pane shows for the cursor unit.
type optView struct {
	key     optKey
	img     *image.RGBA // nil: none
	title   string
	status  string
	running bool // the cursor unit's job runs (the button stops it)
	frac    float64
	stale   bool // the picture is a stopped run's: tinted
}

// optViewFor composes the optimize pane for state st.
func (a *App) optViewFor(st State) optView {
	cur := st.Current()
	k := optKey{cur.Name, st.Unit}
	v := optView{key: k, title: "optimize " + k.String()}
	if cur.Name == "" {
		v.title, v.status = "optimize", "no model"
		return v
	}
	o := &a.opt
	o.mu.Lock()
	defer o.mu.Unlock()
	job := o.job
	if job != nil && a.jobs.Running(optSlot) != job {
		job = nil
	}
	if job != nil && o.jobKey == k {
		v.running = true
		v.frac = job.Fraction()
		what := "optimizing"
		if o.pattern && !o.requested {
			what = "pattern mode: optimizing"
		}
		if f := o.forming; f != nil && f.key == k && f.img != nil {
			v.img = f.img
			v.status = fmt.Sprintf("%s — step %d/%d, activation %.3g", what, f.step, f.steps, f.value)
		} else {
			v.status = what + "…"
		}
		return v
	}
	im := o.cache[k]
	switch {
	case im == nil:
		v.status = "no image yet — g (or the button) optimizes this unit"
		if job != nil {
			v.status += fmt.Sprintf(" (running: %s)", o.jobKey)
		}
	case im.err != nil:
		v.status = "failed: " + im.err.Error()
	case im.done:
		v.img, v.frac = im.img, 1
		v.status = fmt.Sprintf("%s preset, %d steps: activation %.3g — g: again", optPreset, im.steps, im.value)
		if !(im.value > 0) {
			v.status += " (the unit never fired from the gray start, so the image stayed flat)"
		}
	default:
		v.img, v.stale = im.img, true
		if im.steps > 0 {
			v.frac = float64(im.step) / float64(im.steps)
		}
		v.status = fmt.Sprintf("stopped at step %d/%d — g: run again", im.step, im.steps)
	}
	return v
}

// runOptimization makes unit k's image with the optPreset recipe: the
// unit's mean activation (the class logit on the logits) maximized from a
// fixed seed, so that the same unit gives the same image.
func runOptimization(ctx context.Context, sess *session, k optKey, onStep func(img *image.RGBA, step, steps int, value float64), progress func(step, steps int)) (*image.RGBA, float64, error) {
	t, err := targetFor(sess.m, renderKey{Layer: k.Layer, Unit: k.Unit})
	if err != nil {
		return nil, 0, fmt.Errorf("optimize %s: %w", k, err)
	}
	rec, err := vis.Preset(optPreset)
	if err != nil {
		return nil, 0, err
	}
	in := sess.m.Input()
	if len(in.Shape) != 4 {
		return nil, 0, fmt.Errorf("optimize %s: the model's input %q is not an image", k, in.Name)
	}
	draw := func(x *vis.OptProgress) *image.RGBA {
		img := image.NewRGBA(image.Rect(0, 0, in.Shape[3], in.Shape[2]))
		inputPicture(img, x.Images[0], sess.space)
		return img
	}
	o := &vis.Optimization{Model: sess.m, Space: sess.space, Objective: vis.Activation(t), Recipe: rec, Every: optEvery,
		OnStep: func(p *vis.OptProgress) error {
			if len(p.Images) > 0 && len(p.Values) > 0 {
				onStep(draw(p), p.Step, p.Steps, p.Values[0])
			}
			return nil
		},
		Stop: func(p *vis.OptProgress) bool {
			progress(p.Step, p.Steps)
			return false
		},
	}
	res, err := vis.Optimize(ctx, o)
	if err != nil {
		return nil, 0, fmt.Errorf("optimize %s: %w", k, err)
	}
	if len(res.Images) == 0 || len(res.Values) == 0 {
		return nil, 0, fmt.Errorf("optimize %s: no image", k)
	}
	img := image.NewRGBA(image.Rect(0, 0, in.Shape[3], in.Shape[2]))
	inputPicture(img, res.Images[0], sess.space)
	return img, res.Values[0], nil
}
