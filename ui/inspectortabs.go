package ui

import (
	"fmt"
	"image"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// inspectorTabs is the lower part of the unit inspector: the optimize
// pane (the unit's activation-maximization image, forming as it is
// computed), the unit's top-9 from an index and its live top-9. Thin
// widgets: applyTabs copies into them what the background work left in
// a.opt and a.top9, only when that changed.
type inspectorTabs struct {
	tabs   *container.AppTabs
	scroll *container.Scroll // the inspector's, scrolled to show the tabs

	optTitle  *widget.Label
	optImg    *canvas.Image
	optStatus *widget.Label
	optButton *widget.Button
	optBar    *widget.ProgressBar

	ixTitle  *widget.Label
	ixMax    *canvas.Image
	ixDeconv *canvas.Image
	ixNote   *widget.Label

	liveTitle *widget.Label
	liveImg   *canvas.Image
	liveNote  *widget.Label

	liveShown atomic.Bool // the live tab is selected (read by compose)

	// What the widgets show, to skip unchanged updates.
	sig    tabsSig
	nine   int // pictures in the top-9 shown (tests)
	live   int // pictures in the live top-9 shown (tests)
	optKey optKey
}

// tabsSig is what the tabs were last drawn from.
type tabsSig struct {
	key                 optKey
	optVersion, topVer  uint64
	running             bool
	optFrac             float64
	ixLoading, ixStaled bool
}

// Tab titles.
const (
	tabOptimize = "optimize (g)"
	tabTop9     = "top-9"
	tabLive     = "live top-9"
)

func emptyImage() *canvas.Image {
	img := canvas.NewImageFromImage(image.NewRGBA(image.Rect(0, 0, 1, 1)))
	img.FillMode, img.ScaleMode = canvas.ImageFillContain, canvas.ImageScaleSmooth
	return img
}

func wrapLabel(s string) *widget.Label {
	l := widget.NewLabel(s)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// newInspectorTabs builds the tabs; optimize is the button's action.
func newInspectorTabs(optimize func()) *inspectorTabs {
	it := &inspectorTabs{
		optTitle:  widget.NewLabel("optimize"),
		optImg:    emptyImage(),
		optStatus: wrapLabel(""),
		optButton: widget.NewButton("Optimize (g)", optimize),
		optBar:    widget.NewProgressBar(),
		ixTitle:   widget.NewLabel("top-9 from the index"),
		ixMax:     emptyImage(),
		ixDeconv:  emptyImage(),
		ixNote:    wrapLabel(errNoIndex.Error()),
		liveTitle: widget.NewLabel("live top-9"),
		liveImg:   emptyImage(),
		liveNote:  wrapLabel("waiting for frames…"),
	}
	for _, l := range []*widget.Label{it.optTitle, it.ixTitle, it.liveTitle} {
		l.Truncation = fyne.TextTruncateEllipsis
	}
	it.ixMax.ScaleMode, it.ixDeconv.ScaleMode, it.liveImg.ScaleMode = canvas.ImageScalePixels, canvas.ImageScalePixels, canvas.ImageScalePixels
	it.setScale(1)
	opt := container.NewVBox(it.optTitle, it.optImg, it.optBar, it.optButton, it.optStatus)
	ix := container.NewVBox(it.ixTitle,
		container.NewGridWithColumns(2, widget.NewLabel("max crops"), widget.NewLabel("deconv")),
		container.NewGridWithColumns(2, it.ixMax, it.ixDeconv), it.ixNote)
	live := container.NewVBox(it.liveTitle, it.liveImg, it.liveNote)
	it.tabs = container.NewAppTabs(
		container.NewTabItem(tabOptimize, opt),
		container.NewTabItem(tabTop9, ix),
		container.NewTabItem(tabLive, live),
	)
	it.tabs.OnSelected = func(t *container.TabItem) {
		it.liveShown.Store(t.Text == tabLive)
		it.reveal()
	}
	return it
}

// setScale enlarges the pictures by f (presentation mode).
func (it *inspectorTabs) setScale(f float32) {
	g := 1 + (f-1)/2
	it.optImg.SetMinSize(fyne.NewSize(224*g, 224*g))
	it.ixMax.SetMinSize(fyne.NewSize(128*g, 128*g))
	it.ixDeconv.SetMinSize(fyne.NewSize(128*g, 128*g))
	it.liveImg.SetMinSize(fyne.NewSize(224*g, 224*g))
}

// selectTab shows the tab with the given title.
func (it *inspectorTabs) selectTab(title string) {
	for _, t := range it.tabs.Items {
		if t.Text == title {
			it.tabs.Select(t)
			it.reveal()
			return
		}
	}
}

// reveal scrolls the inspector down to the tabs (they sit under the
// rendering, below the fold of a small window).
func (it *inspectorTabs) reveal() {
	if it.scroll != nil {
		it.scroll.ScrollToBottom()
	}
}

// buildTabs adds the tabs under the inspector (window build).
func (a *App) buildTabs() {
	a.tabs = newInspectorTabs(func() {
		a.toggleOptimize()
		a.win.Canvas().Unfocus()
	})
	a.insp.box.Add(a.tabs.tabs)
}

// scheduleTabs starts or cancels the tabs' background work for the
// state: the optimization (and pattern mode's), the index read.
func (a *App) scheduleTabs() {
	a.scheduleOpt()
	a.scheduleTop9()
}

// composeTabs is compose's part for the tabs and pattern mode: the live
// top-k observes the frame, and pattern mode draws the units' images
// over their tiles. drawMu is held.
func (a *App) composeTabs(c *composed, st State, sess *session, f *frame) {
	a.observeLive(st, sess, f)
	if a.tabs != nil && a.tabs.liveShown.Load() {
		a.liveSheetFor(optKey{st.Current().Name, st.Unit}, time.Now())
	}
	a.drawPatterns(c, st)
}

// applyTabs shows in the tabs what the background work left, for the
// state as it is now. UI goroutine.
func (a *App) applyTabs() {
	it := a.tabs
	if it == nil {
		return
	}
	st := a.State()
	k := optKey{st.Current().Name, st.Unit}
	ov := a.optViewFor(st)
	a.opt.mu.Lock()
	optVer := a.opt.version
	a.opt.mu.Unlock()
	a.top9.mu.Lock()
	topVer := a.top9.version
	a.top9.mu.Unlock()
	sheet, stale, ix, loading := a.indexSheetFor(k)
	sig := tabsSig{key: k, optVersion: optVer, topVer: topVer, running: ov.running, optFrac: ov.frac, ixLoading: loading, ixStaled: stale}
	if sig == it.sig {
		return
	}
	it.sig = sig
	a.showOpt(ov)
	a.showIndex(k, sheet, stale, ix != nil, loading)
	a.showLive(k)
}

// showOpt shows the optimize pane's view.
func (a *App) showOpt(v optView) {
	it := a.tabs
	setText(it.optTitle, v.title)
	setText(it.optStatus, v.status)
	img := v.img
	if img != nil && v.stale {
		img = tint(img)
	}
	setImage(it.optImg, img)
	it.optKey = v.key
	if v.running {
		it.optButton.SetText("Stop (g)")
	} else {
		it.optButton.SetText("Optimize (g)")
	}
	it.optBar.SetValue(v.frac)
}

// showIndex shows the index's top-k of unit k.
func (a *App) showIndex(k optKey, s *indexSheet, stale, open, loading bool) {
	it := a.tabs
	it.nine = 0
	switch {
	case !open:
		setText(it.ixTitle, "top-9 from the index")
		setText(it.ixNote, errNoIndex.Error())
		setImage(it.ixMax, nil)
		setImage(it.ixDeconv, nil)
		return
	case s == nil:
		setText(it.ixTitle, "top-9 "+k.String())
		setText(it.ixNote, "reading the index…")
		return
	}
	title := fmt.Sprintf("top-%d %s", len(s.maxImgs), k)
	if s.layer != "" && s.layer != k.Layer {
		title = fmt.Sprintf("top-%d %s (from %s)", len(s.maxImgs), k, s.layer)
	}
	note := s.note
	if s.err != nil {
		note = s.err.Error()
	} else if len(s.values) > 0 {
		note = fmt.Sprintf("values: %s\n%s", valuesText(s.values), note)
	}
	if stale {
		title = "top-9 " + k.String()
		note = "reading the index…"
		if loading {
			note = "reading the index… (showing " + s.key.String() + ", stale)"
		}
	}
	setText(it.ixTitle, title)
	setText(it.ixNote, note)
	mx, dc := s.max, s.deconv
	if stale {
		if mx != nil {
			mx = tint(mx)
		}
		if dc != nil {
			dc = tint(dc)
		}
	}
	if s.err != nil && !stale {
		mx, dc = nil, nil
	}
	setImage(it.ixMax, mx)
	setImage(it.ixDeconv, dc)
	if !stale && s.err == nil {
		it.nine = len(s.maxImgs)
	}
}

// showLive shows the live top-k of unit k as last drawn.
func (a *App) showLive(k optKey) {
	it := a.tabs
	t := &a.top9
	t.mu.Lock()
	v, lerr, lv := t.liveView, t.liveErr, t.live
	t.mu.Unlock()
	it.live = 0
	setText(it.liveTitle, "live top-9 "+k.String())
	switch {
	case lerr != nil:
		setText(it.liveNote, lerr.Error())
		setImage(it.liveImg, nil)
	case v == nil || v.key != k:
		seen := 0
		if lv != nil {
			seen = lv.Seen()
		}
		setText(it.liveNote, fmt.Sprintf("collecting (%d frames seen)…", seen))
		if v != nil && v.sheet != nil {
			setImage(it.liveImg, tint(v.sheet))
		}
	case v.err != nil:
		setText(it.liveNote, v.err.Error())
	default:
		setImage(it.liveImg, v.sheet)
		it.live = len(v.crops)
		setText(it.liveNote, fmt.Sprintf("the best %d of %d frames seen from this source: %s", len(v.crops), v.seen, valuesText(v.values)))
	}
}

func setText(l *widget.Label, s string) {
	if l.Text != s {
		l.SetText(s)
	}
}

// setImage shows img (nil: nothing) in c.
func setImage(c *canvas.Image, img *image.RGBA) {
	var im image.Image = img
	if img == nil {
		im = image.NewRGBA(image.Rect(0, 0, 1, 1))
	}
	if c.Image != im {
		c.Image = im
		c.Refresh()
	}
}
