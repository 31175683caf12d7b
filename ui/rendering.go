package ui

import (
	"context"
	"fmt"
	"image"
	"slices"
	"time"

	"github.com/deepscope/deepscope/model"
	"github.com/deepscope/deepscope/vis"
)

// renderKey says what a rendering explains and how, whatever the frame.
type renderKey struct {
	Layer  string
	Unit   int
	AtMax  bool
	Method string
}

func (k renderKey) String() string {
	at := ""
	if k.AtMax {
		at = "@max"
	}
	return fmt.Sprintf("%s %s:%d%s", k.Method, k.Layer, k.Unit, at)
}

// rendering is a finished rendering job: the raw map of one frame and the
// picture drawn from it.
type rendering struct {
	key      renderKey
	target   string        // what the target is, for people
	seq      uint64        // the frame
	done     time.Time     // when the frame was computed
	took     time.Duration // computing it
	finished time.Time
	m        *vis.Map
	base     *image.RGBA // the frame's input picture, under heat maps
	err      error

	display string      // the display img was drawn in
	img     *image.RGBA // m drawn
}

// wantKey returns the rendering the state asks for, and false when the
// rendering is off or there is nothing to explain.
func wantKey(s State) (renderKey, bool) {
	l := s.BackLayer()
	if s.Method == MethodOff || s.Method == "" || l.Name == "" {
		return renderKey{}, false
	}
	return renderKey{Layer: l.Name, Unit: s.BackUnit().Unit, AtMax: s.AtMax && !l.FC(), Method: s.Method}, true
}

// targetFor returns the vis target of a key: the class logit for a unit of
// the logits (or of the softmax of them), else the unit of its layer.
func targetFor(m *model.Model, k renderKey) (vis.Target, error) {
	logits := vis.LogitLayer(m)
	class := k.Layer == logits
	if !class && k.Layer == m.Output() {
		if op, in, ok := m.Producer(k.Layer); ok && (op == "Softmax" || op == "LogSoftmax") && len(in) > 0 && in[0] == logits {
			class = true
		}
	}
	if class {
		return vis.ClassTarget(m, k.Unit)
	}
	at := vis.AtSum
	if k.AtMax {
		at = vis.AtMax
	}
	return vis.UnitTarget(m, k.Layer, k.Unit, at, 0, 0)
}

// fastModes are the methods that take one backward pass, which the
// explorer runs on the frame's own forward pass (saving one) so that they
// keep up with a live stream: the rule and the default display mode.
var fastModes = map[string]struct {
	mode    model.Mode
	display string
}{
	"saliency":   {model.Vanilla, vis.ModeGray},
	"guided":     {model.Guided, vis.ModeRaw},
	"deconv":     {model.Deconvnet, vis.ModeRaw},
	"gradxinput": {model.Vanilla, vis.ModeGray},
}

// computeMap computes the rendering k of frame f.
func computeMap(ctx context.Context, m *model.Model, f *frame, k renderKey, t vis.Target, progress func(done, total int)) (*vis.Map, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if fm, ok := fastModes[k.Method]; ok {
		return backpropFrame(m, f, k.Method, t, fm.mode, fm.display)
	}
	meth, err := vis.Lookup(k.Method)
	if err != nil {
		return nil, err
	}
	return meth.Compute(ctx, &vis.Request{Model: m, Input: f.input.Clone(), Target: t, Progress: progress})
}

// backpropFrame is vis's gradient-family method computed from the
// frame's forward pass: seed the target, back-propagate with the rule to
// the input. (vis runs its own forward pass for the same result.)
func backpropFrame(m *model.Model, f *frame, method string, t vis.Target, mode model.Mode, display string) (*vis.Map, error) {
	seed, err := t.Seed(f.acts)
	if err != nil {
		return nil, err
	}
	scores, err := t.Scores(f.acts)
	if err != nil {
		return nil, err
	}
	in := m.Input().Name
	grads, err := m.Backward(f.acts, map[string]*model.Tensor{t.Layer: seed}, mode, in)
	if err != nil {
		return nil, err
	}
	g := grads[in]
	if g == nil || g.Rank() != 4 {
		return nil, fmt.Errorf("%s: no input gradient", method)
	}
	c, h, w := g.Shape[1], g.Shape[2], g.Shape[3]
	data := g.Data[:c*h*w]
	if method == "gradxinput" {
		for i, x := range f.input.Data[:len(data)] {
			data[i] *= x
		}
	}
	return &vis.Map{Method: method, Kind: vis.InputMap, Data: model.FromData(data, c, h, w),
		Height: h, Width: w, Score: scores[0], Mode: display}, nil
}

// drawRendering draws a rendering's map in a display filter. Input-space
// maps are clipped to their clipQuantile of |value| first, so that a few
// extreme gradients do not leave the picture flat gray.
func drawRendering(r *rendering, display string, bgr bool) (*image.RGBA, error) {
	mode := ""
	if display != DisplayAuto {
		mode = display
	}
	var base image.Image
	if r.base != nil {
		base = r.base
	}
	m := r.m
	if m.Kind == vis.InputMap && m.Data != nil {
		c := *m
		c.Data = clipMap(m.Data, clipQuantile)
		m = &c
	}
	return vis.Render(m, base, vis.Style{Mode: mode, Colormap: "viridis", Alpha: 0.5, BGR: bgr})
}

// clipQuantile is the quantile of |value| an input-space map is clipped
// to before display.
const clipQuantile = 0.995

// clipMap returns a copy of t with values clipped to ±(the q quantile of
// |value|), or t itself when that is zero.
func clipMap(t *model.Tensor, q float64) *model.Tensor {
	limit := quantileAbs(t.Data, q)
	if !(limit > 0) {
		return t
	}
	out := model.FromData(slices.Clone(t.Data), t.Shape...)
	for i, x := range out.Data {
		out.Data[i] = min(max(x, -limit), limit)
	}
	return out
}

// quantileAbs returns the q quantile of |v| to 1/4096 of its maximum (a
// histogram: linear time).
func quantileAbs(v []float32, q float64) float32 {
	var peak float32
	for _, x := range v {
		peak = max(peak, x, -x)
	}
	if !(peak > 0) || len(v) == 0 {
		return 0
	}
	const bins = 4096
	var hist [bins]int
	scale := bins / peak
	for _, x := range v {
		hist[min(int(max(x, -x)*scale), bins-1)]++
	}
	want, n := int(q*float64(len(v))), 0
	for b, c := range hist {
		n += c
		if n > want {
			return float32(b+1) / scale
		}
	}
	return peak
}
