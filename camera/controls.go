package camera

import (
	"fmt"
	"image"
	"sync"
)

// Fit is how a frame becomes the network's input.
type Fit int

const (
	// Crop takes the central part of the frame with the aspect ratio of
	// the network input (a square for the usual square networks), then
	// applies the model's own resize recipe from its sidecar.
	Crop Fit = iota
	// Stretch squeezes the whole frame to the network input, ignoring its
	// aspect ratio.
	Stretch
)

func (f Fit) String() string {
	switch f {
	case Crop:
		return "crop"
	case Stretch:
		return "stretch"
	}
	return fmt.Sprintf("Fit(%d)", int(f))
}

// Settings are the input controls of the explorer.
type Settings struct {
	// Frozen holds the current picture: no new frames are processed
	// (files pause, a webcam keeps capturing so that unfreezing shows the
	// present) until Unfreeze, except one per Step.
	Frozen bool
	Fit    Fit
	// Mirror flips frames left to right, as people expect of a webcam
	// pointed at themselves.
	Mirror bool
}

// controls holds a pipeline's settings, announces their changes and counts
// the frames a Step lets through while frozen.
type controls struct {
	mu      sync.Mutex
	s       Settings
	thaw    int           // frames to let through while frozen
	changed chan struct{} // closed (and replaced) on every change
}

func newControls(s Settings) *controls {
	return &controls{s: s, changed: make(chan struct{})}
}

// get returns the settings and a channel closed at their next change.
func (c *controls) get() (Settings, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.s, c.changed
}

// update applies f to the settings and announces the change.
func (c *controls) update(f func(s *Settings, thaw *int)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(&c.s, &c.thaw)
	close(c.changed)
	c.changed = make(chan struct{})
}

// paused reports whether a reader of a non-live source should wait: frozen
// with no Step pending.
func (c *controls) paused() (bool, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.s.Frozen && c.thaw == 0, c.changed
}

// admit reports whether a frame just read may go on to the network,
// using up a Step when frozen.
func (c *controls) admit() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.s.Frozen {
		return true
	}
	if c.thaw > 0 {
		c.thaw--
		return true
	}
	return false
}

// Settings returns the input controls in effect.
func (p *Pipeline) Settings() Settings {
	s, _ := p.ctl.get()
	return s
}

// Freeze holds the picture on screen: the frame being shown stays, with
// its activations, until Unfreeze or Step.
func (p *Pipeline) Freeze() {
	p.ctl.update(func(s *Settings, thaw *int) { s.Frozen, *thaw = true, 0 })
	p.discardFrame() // a frame read before the freeze must not replace the picture
}

// Unfreeze resumes the stream.
func (p *Pipeline) Unfreeze() {
	p.ctl.update(func(s *Settings, thaw *int) { s.Frozen, *thaw = false, 0 })
}

// SetFit chooses between cropping and stretching frames to the network
// input; the picture on screen is processed again with the new setting.
func (p *Pipeline) SetFit(f Fit) {
	p.ctl.update(func(s *Settings, _ *int) { s.Fit = f })
}

// SetMirror turns mirroring on or off; the picture on screen is processed
// again with the new setting.
func (p *Pipeline) SetMirror(on bool) {
	p.ctl.update(func(s *Settings, _ *int) { s.Mirror = on })
}

// Step moves a source that can (a folder, a video, the pattern) n frames
// forward or back. While frozen it also lets exactly one new frame
// through, so that stepping a frozen webcam takes one fresh picture.
func (p *Pipeline) Step(n int) {
	p.mu.Lock()
	src, pos := p.src, 0
	if p.snap != nil && p.snap.Source.Name == src.Info().Name {
		pos = p.snap.Frame.Pos
	}
	p.mu.Unlock()
	p.discardFrame() // show the stepped frame, not one read before
	if st, ok := src.(Stepper); ok {
		st.Goto(pos + n)
	}
	p.ctl.update(func(s *Settings, thaw *int) {
		if s.Frozen {
			*thaw = 1
		}
	})
}

// SwitchSource makes src the pipeline's source; the pipeline closes the
// previous one. While frozen, the new source's first frame is shown.
func (p *Pipeline) SwitchSource(src Source) {
	p.mu.Lock()
	old := p.pending
	p.pending = src
	cancel := p.cancelSource
	p.mu.Unlock()
	if old != nil {
		old.Close() // never started
	}
	if cancel != nil {
		cancel() // interrupt the current source's Next
	}
	p.ctl.update(func(s *Settings, thaw *int) {
		if s.Frozen {
			*thaw = 1
		}
	})
}

// view applies the crop and mirror settings to a frame for a network input
// of w x h: the picture the network sees before resizing. The result
// shares img's pixels unless mirrored.
func (s Settings) view(img *image.RGBA, w, h int) *image.RGBA {
	if s.Fit == Crop {
		img = cropAspect(img, w, h)
	}
	if s.Mirror {
		img = mirror(img)
	}
	return img
}

// cropAspect returns the largest central part of img with the aspect
// ratio w:h, sharing img's pixels, with its origin at (0, 0).
func cropAspect(img *image.RGBA, w, h int) *image.RGBA {
	iw, ih := img.Rect.Dx(), img.Rect.Dy()
	if w <= 0 || h <= 0 || iw == 0 || ih == 0 {
		return img
	}
	cw, ch := iw, max(iw*h/w, 1)
	if ch > ih {
		cw, ch = max(ih*w/h, 1), ih
	}
	if cw == iw && ch == ih {
		return img
	}
	x0, y0 := img.Rect.Min.X+(iw-cw)/2, img.Rect.Min.Y+(ih-ch)/2
	return &image.RGBA{Pix: img.Pix[img.PixOffset(x0, y0):], Stride: img.Stride, Rect: image.Rect(0, 0, cw, ch)}
}

// mirror returns a left-right flipped copy of img.
func mirror(img *image.RGBA) *image.RGBA {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		src := img.Pix[img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y):][:4*w]
		dst := out.Pix[y*out.Stride:][:4*w]
		for x := range w {
			copy(dst[4*(w-1-x):4*(w-x)], src[4*x:4*x+4])
		}
	}
	return out
}
