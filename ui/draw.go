package ui

import (
	"fmt"
	"image"
	"path/filepath"
	"sort"
	"time"

	"github.com/deepscope/deepscope/model"
	"github.com/deepscope/deepscope/vis"
)

// composed is everything the widgets show for one frame, composed off the
// UI goroutine.
type composed struct {
	st   State
	sess *session
	seq  uint64

	grid      *image.RGBA
	geom      gridGeom
	tiles     bool // grid shows tiles (not a zoom)
	sel, lock int
	labels    []cellLabel
	values    []float32 // per unit: the maximum (maps) or the value (fc)
	gridTitle string

	input   *image.RGBA
	caption string
	top     []Class

	insp   inspectorView
	status string
}

// compose draws the panes for frame f (nil: none yet) in state st.
// drawMu is held.
func (a *App) compose(st State, sess *session, f *frame, res *rendering) *composed {
	c := &composed{st: st, sess: sess, sel: -1, lock: -1}
	px := a.grid.PixelSize()
	c.grid = a.gridPool.get(px.X, px.Y)
	fill(c.grid, colBackground)
	if sess == nil || f == nil {
		c.gridTitle = "waiting for frames…"
		if sess == nil {
			c.gridTitle = "no model: File ▸ Open model…"
		}
		c.status = a.statusLine(st, sess, nil)
		c.insp = inspectorView{actTitle: "", rendTitle: "", progressText: "idle"}
		return c
	}
	c.seq = f.seq
	a.rates(f)
	cur := st.Current()
	var vals []float32
	if v, err := f.get(cur.Name); err == nil && v.DType == model.Float32 && len(v.Data) >= cur.C*cur.H*cur.W {
		vals = v.Data[:cur.C*cur.H*cur.W]
	}
	res = a.redisplay(st, sess, res)

	// The grid.
	gap := 2
	if st.Presentation {
		gap = 4
	}
	switch {
	case vals == nil:
		c.gridTitle = fmt.Sprintf("%s: no value", cur.Name)
	case st.Zoom == ZoomUnit && !cur.FC():
		p := cur.H * cur.W
		c.geom = drawMap(c.grid, vals[st.Unit*p:(st.Unit+1)*p], cur.H, cur.W, a.span(st, vals, st.Unit, p), st.GammaValue())
	case st.Zoom == ZoomRendering && res != nil && res.img != nil:
		drawFit(c.grid, res.img, true)
		c.geom = gridGeom{W: px.X, H: px.Y}
	case cur.FC():
		c.geom = layoutGrid(cur.C, 1, 1, px.X, px.Y, min(gap, 2))
		drawBars(c.grid, c.geom, vals, st.GammaValue())
		c.tiles = true
	default:
		c.geom = layoutGrid(cur.C, cur.H, cur.W, px.X, px.Y, gap)
		drawTiles(c.grid, c.geom, vals, cur.H, cur.W, st.PerChannel, st.GammaValue())
		c.tiles = true
	}
	if c.tiles {
		c.sel = st.Unit
		if st.Locked && st.Lock.Layer == st.Layer {
			c.lock = st.Lock.Unit
		}
		a.mu.Lock()
		if a.st.Layer == st.Layer {
			a.st.Cols = c.geom.Cols
		}
		a.mu.Unlock()
	}
	if vals != nil {
		if cur.FC() {
			c.values = vals
		} else {
			c.values = channelMax(vals, cur.C)
		}
	}
	if cur.Labelled && c.tiles && vals != nil {
		for _, i := range topIndexes(vals, 5) {
			c.labels = append(c.labels, cellLabel{Tile: i, Text: sess.label(i)})
		}
	}
	if c.gridTitle == "" {
		c.gridTitle = gridTitle(cur, st)
	}
	a.composeTabs(c, st, sess, f)

	// The input pane.
	in := f.input
	H, W := in.Shape[2], in.Shape[3]
	base := a.inputPool.get(W, H)
	inputPicture(base, in, sess.space)
	c.input = base
	switch st.Overlay {
	case OverlayUnit:
		if vals != nil && !cur.FC() {
			p := cur.H * cur.W
			c.input = heatOver(base, vals[st.Unit*p:(st.Unit+1)*p], cur.H, cur.W, 0.75)
		}
	case OverlayRendering:
		if res != nil && res.m != nil && res.img != nil {
			if res.m.Kind == vis.HeatMap {
				c.input = heatOverMap(base, res.m, 0.75)
			} else {
				c.input = blend(base, res.img, 0.6)
			}
		}
	}
	if lv, err := f.get(sess.logits); err == nil && lv.DType == model.Float32 {
		c.top = topClasses(lv.Data, 5, sess.label)
	}
	c.caption = a.caption(f, st)

	// The inspector.
	c.insp = a.inspectorView(st, sess, f, res, cur, vals)
	c.status = a.statusLine(st, sess, c.values)
	return c
}

// span returns the normalisation of unit u's plane (p values) of a layer.
func (a *App) span(st State, vals []float32, u, p int) span {
	if st.PerChannel {
		return spanOf(vals[u*p : (u+1)*p])
	}
	return layerSpan(vals)
}

// rates updates the rate of new frames shown: the inverse of a moving
// average of the time between them, as the pipeline measures its own.
func (a *App) rates(f *frame) {
	if f.seq == a.lastSeq {
		return
	}
	now := time.Now()
	if !a.lastSeqAt.IsZero() {
		dt := now.Sub(a.lastSeqAt).Seconds()
		if a.uiInterval == 0 {
			a.uiInterval = dt
		} else {
			a.uiInterval += 0.1 * (dt - a.uiInterval)
		}
		if a.uiInterval > 0 {
			a.uiFPS = 1 / a.uiInterval
		}
	}
	a.lastSeq, a.lastSeqAt = f.seq, now
}

// redisplay redraws the rendering when the display filter changed.
func (a *App) redisplay(st State, sess *session, res *rendering) *rendering {
	if res == nil || res.m == nil || res.display == st.Display {
		return res
	}
	r := *res
	r.display = st.Display
	r.img, r.err = drawRendering(&r, st.Display, sess.bgr)
	a.mu.Lock()
	if a.result == res {
		a.result = &r
	}
	a.mu.Unlock()
	return &r
}

// topIndexes returns the indexes of the k largest values.
func topIndexes(v []float32, k int) []int {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] > v[idx[b]] })
	return idx[:min(k, len(idx))]
}

func gridTitle(l LayerInfo, st State) string {
	shape := fmt.Sprintf("%d×%d×%d", l.C, l.H, l.W)
	if l.FC() {
		shape = fmt.Sprintf("%d units", l.C)
	}
	norm := "per layer"
	if st.PerChannel {
		norm = "per channel"
	}
	s := fmt.Sprintf("%s  (%s, %s)  normalised %s", l.Name, l.Op, shape, norm)
	if g := st.GammaValue(); g != 1 {
		s += fmt.Sprintf(", γ %.2g", g)
	}
	switch st.Zoom {
	case ZoomUnit:
		s += fmt.Sprintf("  — zoom: unit %d", st.Unit)
	case ZoomRendering:
		s += "  — zoom: rendering"
	}
	return s
}

// caption describes the frame under the input picture.
func (a *App) caption(f *frame, st State) string {
	s := a.sourceName()
	if f.name != "" {
		s = filepath.Base(f.name)
	}
	if f.pos > 0 {
		s += fmt.Sprintf(" #%d", f.pos)
	}
	if st.Frozen {
		s += "  [frozen]"
	}
	switch st.Overlay {
	case OverlayUnit:
		s += "  overlay: unit"
	case OverlayRendering:
		s += "  overlay: rendering"
	}
	return s
}

// unitName names a unit for people: "relu9:37", with its class label on a
// labelled layer.
func unitName(sess *session, l LayerInfo, u int) string {
	s := fmt.Sprintf("%s:%d", l.Name, u)
	if l.Labelled {
		s += " " + sess.label(u)
	}
	return s
}

// inspectorView composes the inspector: the cursor unit's activation and
// the rendering with its staleness.
func (a *App) inspectorView(st State, sess *session, f *frame, res *rendering, cur LayerInfo, vals []float32) inspectorView {
	var v inspectorView
	if vals != nil && st.Unit < cur.C {
		p := cur.H * cur.W
		plane := vals[st.Unit*p : (st.Unit+1)*p]
		hi := plane[0]
		for _, x := range plane {
			hi = max(hi, x)
		}
		v.actTitle = fmt.Sprintf("%s   max %.3g", unitName(sess, cur, st.Unit), hi)
		if cur.FC() {
			v.act = a.actPool.get(256, 64)
			drawGauge(v.act, plane[0], spanOf(vals))
			v.actTitle = fmt.Sprintf("%s   %.3g", unitName(sess, cur, st.Unit), plane[0])
		} else {
			k := max(1, 256/max(cur.H, cur.W))
			v.act = a.actPool.get(k*cur.W, k*cur.H)
			drawMap(v.act, plane, cur.H, cur.W, a.span(st, vals, st.Unit, p), st.GammaValue())
		}
	}
	key, on := wantKey(st)
	job := a.jobs.Running(renderSlot)
	if job != nil {
		v.busy = true
		v.progress = job.Fraction()
		v.progressText = "computing " + job.Name
		if v.progress > 0 {
			v.progressText += fmt.Sprintf(" %.0f%%", 100*v.progress)
		}
	} else {
		v.progressText = "idle"
		if res != nil && res.seq != 0 {
			v.progressText = fmt.Sprintf("idle — last took %.0f ms", res.took.Seconds()*1000)
		}
	}
	if !on {
		v.rendTitle = "rendering off (b: choose one)"
		return v
	}
	bl := st.BackLayer()
	title := fmt.Sprintf("%s · %s — %s", key.Method, st.Display, unitName(sess, bl, key.Unit))
	if st.Locked {
		title += " (locked)"
	}
	if key.AtMax {
		title += " @max"
	}
	v.rendTitle = title
	if res == nil {
		return v
	}
	if res.err != nil {
		v.rendTitle = title + ": " + res.err.Error()
		return v
	}
	v.rend = res.img
	v.stale = res.key != key || (f.seq != res.seq && f.done.Sub(res.done) > staleAfter)
	if v.stale {
		v.rend = tint(res.img)
		v.badge = "stale"
		if job != nil {
			v.badge += fmt.Sprintf(" — computing %s", job.Name)
			if v.progress > 0 {
				v.badge += fmt.Sprintf(" %.0f%%", 100*v.progress)
			}
		}
	}
	return v
}

// statusLine composes the status bar.
func (a *App) statusLine(st State, sess *session, values []float32) string {
	si := statusInfo{Display: st.Display, Method: st.Method, Frozen: st.Frozen, UIFPS: a.uiFPS}
	if sess != nil {
		si.Model = sess.m.Name
		cur := st.Current()
		si.Layer, si.Unit = cur.Name, st.Unit
		if cur.Labelled {
			si.UnitLabel = sess.label(st.Unit)
		}
		if sess.pipe != nil {
			si.Stats, si.HaveStats = sess.pipe.Stats(), true
			want := float64(targetFPS)
			if f := si.Stats.Source.FPS; f > 0 {
				want = min(want, f)
			}
			a.behind.Store(!st.Frozen && si.Stats.Frames > 10 && si.Stats.FPS < want)
		}
	}
	for _, j := range a.jobs.All() {
		si.Jobs = append(si.Jobs, j.Status())
	}
	a.mu.Lock()
	if a.message != "" && time.Since(a.messageAt) < 8*time.Second {
		si.Message = a.message
	}
	a.mu.Unlock()
	return statusText(si)
}
