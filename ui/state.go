// Package ui is deepscope's live explorer window, a Deep Visualization
// Toolbox for any ONNX classifier: the camera (or a video, a folder, an
// image) as the network sees it with its top-5 classes, every channel of
// the selected layer as a tile, and the selected unit's activation with a
// rendering from package vis (guided backpropagation, Grad-CAM, ...)
// computed in the background.
//
// The explorer's state is plain Go values (State, changed by pure
// functions such as Key) so that it is testable without a display; the
// Fyne widgets only draw it. Frames are composed into images off the UI
// goroutine and handed to the widgets with fyne.Do.
package ui

import (
	"fmt"
	"slices"

	"github.com/deepscope/deepscope/model"
	_ "github.com/deepscope/deepscope/ui/internal/locale" // before Fyne's init
	"github.com/deepscope/deepscope/vis"
)

// LayerInfo describes a layer the explorer shows as tiles.
type LayerInfo struct {
	Name string
	Op   string
	// C, H and W are its channels and spatial size (H = W = 1 for a
	// [N, C] layer).
	C, H, W int
	// Labelled says the layer holds class scores (the logits or the
	// probabilities) and has a name for each channel.
	Labelled bool
}

// FC reports whether the layer has no spatial extent (fully connected
// layers, pooled features, logits): it is drawn as a strip of bars.
func (l LayerInfo) FC() bool { return l.H == 1 && l.W == 1 }

func (l LayerInfo) String() string {
	if l.FC() {
		return fmt.Sprintf("%s (%s) %d", l.Name, l.Op, l.C)
	}
	return fmt.Sprintf("%s (%s) %d×%d×%d", l.Name, l.Op, l.C, l.H, l.W)
}

// Layers returns the layers of m the explorer can show: float32 outputs
// of shape [1, C, H, W] or [1, C]. The graph input is left out (the input
// pane shows it). nLabels is the number of class names known; a layer
// with that many channels at the logits or the output is Labelled.
func Layers(m *model.Model, nLabels int) []LayerInfo {
	logits := vis.LogitLayer(m)
	var out []LayerInfo
	for _, l := range m.Layers {
		if l.DType != model.Float32 || len(l.Shape) < 2 || l.Shape[0] != 1 {
			continue
		}
		li := LayerInfo{Name: l.Name, Op: l.Op, C: l.Shape[1], H: 1, W: 1}
		switch len(l.Shape) {
		case 2:
		case 4:
			li.H, li.W = l.Shape[2], l.Shape[3]
		default:
			continue
		}
		if li.C < 1 || li.H < 1 || li.W < 1 {
			continue
		}
		li.Labelled = nLabels > 0 && li.C == nLabels && li.FC() &&
			(l.Name == logits || l.Name == m.Output())
		out = append(out, li)
	}
	return out
}

// DefaultLayer picks the layer shown first: the deepest activation (or, if
// none, any layer) whose maps are still at least a sixteenth of the input's
// size, where units respond to recognisable parts; 0 when none qualifies.
func DefaultLayer(layers []LayerInfo, inputH int) int {
	best, bestAct := -1, -1
	for i, l := range layers {
		if l.FC() || l.H*16 < inputH {
			continue
		}
		best = i
		if isActivation(l.Op) {
			bestAct = i
		}
	}
	switch {
	case bestAct >= 0:
		return bestAct
	case best >= 0:
		return best
	}
	return 0
}

func isActivation(op string) bool {
	return slices.Contains([]string{"Relu", "LeakyRelu", "PRelu", "Clip", "Elu", "Selu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh"}, op)
}

// Zoom modes of the grid area (deepvis 'z').
const (
	ZoomOff       = iota // every channel as a tile
	ZoomUnit             // the selected unit's activation, enlarged
	ZoomRendering        // the selected unit's rendering, enlarged
	numZooms
)

// Overlay modes of the input pane (deepvis has none; 'v').
const (
	OverlayOff       = iota
	OverlayUnit      // the selected unit's activation as a heat map
	OverlayRendering // the rendering, when it is a heat map (the CAM family)
	numOverlays
)

// Gammas are the gamma boosts 't' cycles through (deepvis boost_gamma):
// tiles show t^gamma of the normalised activation t.
var Gammas = []float64{1, 0.5, 0.25}

// MethodOff is the rendering method that computes nothing.
const MethodOff = "off"

// BackModes are the back-prop rules 'n' cycles through, as vis methods:
// the plain gradient, guided back-propagation and the deconvnet
// (deepvis back_mode).
var BackModes = []string{"saliency", "guided", "deconv"}

// DisplayAuto shows each rendering in its method's own display mode.
const DisplayAuto = "auto"

// Displays are the display filters 'm' cycles through (deepvis
// back_filt_mode).
func Displays() []string { return append([]string{DisplayAuto}, vis.Modes()...) }

// Methods are the renderings 'b' cycles through: off, then vis's methods
// in display order.
func Methods() []string { return append([]string{MethodOff}, vis.Names()...) }

// Unit names one channel of a layer by index into State.Layers.
type Unit struct {
	Layer, Unit int
}

// State is everything the explorer shows, in plain values: what is
// selected and how it is drawn. Changing it never touches a widget.
type State struct {
	Layers []LayerInfo
	// Layer and Unit are the cursor: the selected layer (index into
	// Layers) and channel.
	Layer, Unit int
	// Cols is the number of tile columns of the grid as laid out, for
	// moving the cursor up and down (the grid sets it).
	Cols int
	// Method is the rendering of the back-prop unit (a vis method name
	// or MethodOff); Display its display filter (DisplayAuto or a vis
	// mode).
	Method, Display string
	// AtMax seeds the back-prop unit at its strongest position only,
	// instead of summed over its positions.
	AtMax bool
	// Locked holds the back-prop unit at Lock while the cursor moves
	// (deepvis 'd').
	Locked bool
	Lock   Unit
	// Gamma indexes Gammas; PerChannel normalises each tile on its own
	// instead of the whole layer at once.
	Gamma      int
	PerChannel bool
	Zoom       int
	Overlay    int
	// Input controls, applied to the pipeline.
	Frozen, Mirror, Stretch bool
	// Camera is set while the source is the webcam ('c' toggles between
	// the webcam and the files).
	Camera bool
	// Help shows the key overlay; Presentation is the lecture-hall mode.
	Help, Presentation bool
	// Pattern shows each unit's optimization image in its tile once it
	// is computed (deepvis 's'; pattern.go).
	Pattern bool
	// DefaultLayer is where Esc goes back to.
	DefaultLayer int
}

// NewState returns the initial state for a model's layers.
func NewState(layers []LayerInfo, defaultLayer int) State {
	s := State{Layers: layers, DefaultLayer: defaultLayer, Method: "guided", Display: DisplayAuto, Cols: 1}
	return s.reset()
}

// reset returns to the initial view (Esc), keeping the input controls,
// the source and the presentation mode.
func (s State) reset() State {
	s.Layer, s.Unit = s.DefaultLayer, 0
	if s.Layer < 0 || s.Layer >= len(s.Layers) {
		s.Layer = 0
	}
	s.Method, s.Display, s.AtMax = "guided", DisplayAuto, false
	s.Locked, s.Lock = false, Unit{}
	s.Gamma, s.PerChannel = 0, false
	s.Zoom, s.Overlay = ZoomOff, OverlayOff
	s.Help = false
	return s
}

// Current returns the selected layer, or a zero LayerInfo when the model
// has none.
func (s State) Current() LayerInfo {
	if s.Layer < 0 || s.Layer >= len(s.Layers) {
		return LayerInfo{}
	}
	return s.Layers[s.Layer]
}

// BackUnit returns the unit the rendering explains: the locked one, or
// the cursor.
func (s State) BackUnit() Unit {
	if s.Locked {
		return s.Lock
	}
	return Unit{s.Layer, s.Unit}
}

// BackLayer returns the layer of BackUnit.
func (s State) BackLayer() LayerInfo {
	u := s.BackUnit()
	if u.Layer < 0 || u.Layer >= len(s.Layers) {
		return LayerInfo{}
	}
	return s.Layers[u.Layer]
}

// Select moves the cursor to unit u of the current layer (clamped).
func (s State) Select(u int) State {
	s.Unit = clamp(u, 0, s.Current().C-1)
	return s
}

// SelectLayer moves to layer i (clamped), keeping the unit index when the
// new layer has that many channels.
func (s State) SelectLayer(i int) State {
	if len(s.Layers) == 0 {
		return s
	}
	s.Layer = clamp(i, 0, len(s.Layers)-1)
	s.Unit = clamp(s.Unit, 0, s.Current().C-1)
	return s
}

// Move moves the cursor by dx columns and dy rows of the grid, stopping at
// the edges: left of the first tile of a row stays there, as in deepvis.
func (s State) Move(dx, dy int) State {
	c := s.Current().C
	if c == 0 {
		return s
	}
	cols := max(s.Cols, 1)
	rows := (c + cols - 1) / cols
	row, col := s.Unit/cols, s.Unit%cols
	row = clamp(row+dy, 0, rows-1)
	col = clamp(col+dx, 0, cols-1)
	s.Unit = clamp(row*cols+col, 0, c-1)
	return s
}

// ToggleLock freezes the back-prop unit at the cursor, or releases it.
func (s State) ToggleLock() State {
	if s.Locked {
		s.Locked = false
		return s
	}
	s.Locked, s.Lock = true, Unit{s.Layer, s.Unit}
	return s
}

// GammaValue returns the gamma of the tiles.
func (s State) GammaValue() float64 { return Gammas[clamp(s.Gamma, 0, len(Gammas)-1)] }

// cycle returns the element after (or before, step -1) cur in list.
func cycle(list []string, cur string, step int) string {
	i := slices.Index(list, cur)
	if i < 0 {
		return list[0]
	}
	n := len(list)
	return list[((i+step)%n+n)%n]
}

func clamp(v, lo, hi int) int {
	if hi < lo {
		return lo
	}
	return min(max(v, lo), hi)
}

// Settings are the view settings written next to exported pictures, so
// that a figure can be reproduced.
type Settings struct {
	Model     string  `json:"model"`
	Source    string  `json:"source"`
	Frame     int     `json:"frame"`
	Layer     string  `json:"layer"`
	Unit      int     `json:"unit"`
	UnitLabel string  `json:"unit_label,omitempty"`
	BackLayer string  `json:"backprop_layer"`
	BackUnit  int     `json:"backprop_unit"`
	Locked    bool    `json:"backprop_locked"`
	Method    string  `json:"method"`
	Display   string  `json:"display"`
	At        string  `json:"at"`
	Gamma     float64 `json:"gamma"`
	Normalise string  `json:"normalise"`
	Zoom      int     `json:"zoom"`
	Overlay   string  `json:"overlay"`
	Frozen    bool    `json:"frozen"`
	Mirror    bool    `json:"mirror"`
	Fit       string  `json:"fit"`
	Top5      []Class `json:"top5,omitempty"`
}

// Settings returns the view settings of s.
func (s State) Settings() Settings {
	cur, back := s.Current(), s.BackLayer()
	st := Settings{
		Layer: cur.Name, Unit: s.Unit, BackLayer: back.Name, BackUnit: s.BackUnit().Unit, Locked: s.Locked,
		Method: s.Method, Display: s.Display, At: "sum", Gamma: s.GammaValue(), Normalise: "layer",
		Zoom: s.Zoom, Overlay: []string{"off", "unit", "rendering"}[clamp(s.Overlay, 0, numOverlays-1)],
		Frozen: s.Frozen, Mirror: s.Mirror, Fit: "crop",
	}
	if s.AtMax {
		st.At = "max"
	}
	if s.PerChannel {
		st.Normalise = "channel"
	}
	if s.Stretch {
		st.Fit = "stretch"
	}
	return st
}
