package ui

import (
	"image"
	"image/color"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"
)

// Colours of the grid's marks.
var (
	colSelect = color.NRGBA{0xff, 0xc8, 0x1e, 0xff} // the cursor
	colLock   = color.NRGBA{0xff, 0x4f, 0x8b, 0xff} // the locked back-prop unit
	colHover  = color.NRGBA{0xff, 0xff, 0xff, 0xb0}
)

// cellLabel is a text drawn next to a tile (class names on the logits).
type cellLabel struct {
	Tile int
	Text string
}

// gridView shows the activation grid: one image composed per frame (every
// channel of the layer as a tile, never one widget per tile) with the
// cursor, the locked unit and the tile under the mouse marked on top.
// Tapping a tile selects it; hovering reports it.
type gridView struct {
	widget.BaseWidget

	// OnTap is called with the tapped tile; OnHover with the tile under
	// the mouse, -1 when it leaves. Both on the UI goroutine.
	OnTap   func(tile int)
	OnHover func(tile int)

	img              *canvas.Image
	sel, lock, hover *canvas.Rectangle
	labels           []*canvas.Text
	labelBGs         []*canvas.Rectangle

	// Set on the UI goroutine by show.
	geom        gridGeom // of the image shown, in its pixels
	tiles       bool     // the image shows tiles (not a zoomed map)
	selI, lockI int
	hoverI      int
	cellLabels  []cellLabel
	thick       float32 // stroke width of the marks

	mu     sync.Mutex
	pixels image.Point // the widget's size in pixels, for composing
}

func newGridView() *gridView {
	g := &gridView{
		img:   canvas.NewImageFromImage(image.NewRGBA(image.Rect(0, 0, 1, 1))),
		sel:   markRect(colSelect),
		lock:  markRect(colLock),
		hover: markRect(colHover),
		selI:  -1, lockI: -1, hoverI: -1,
		thick:  2,
		pixels: image.Pt(640, 480),
	}
	g.img.FillMode = canvas.ImageFillStretch
	g.img.ScaleMode = canvas.ImageScalePixels
	g.ExtendBaseWidget(g)
	return g
}

func markRect(c color.NRGBA) *canvas.Rectangle {
	r := canvas.NewRectangle(color.Transparent)
	r.StrokeColor = c
	r.StrokeWidth = 2
	r.Hide()
	return r
}

// PixelSize returns the size in pixels to compose the grid image at. It is
// safe to call from any goroutine.
func (g *gridView) PixelSize() image.Point {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.pixels
}

func (g *gridView) setPixelSize(size fyne.Size) {
	scale := float32(1)
	if c := fyne.CurrentApp().Driver().CanvasForObject(g); c != nil {
		scale = c.Scale()
	}
	g.mu.Lock()
	g.pixels = image.Pt(max(int(size.Width*scale), 1), max(int(size.Height*scale), 1))
	g.mu.Unlock()
}

// show displays a composed grid image laid out as geom, with the cursor
// on tile sel and the locked unit on tile lock (-1: none).
func (g *gridView) show(img *image.RGBA, geom gridGeom, tiles bool, sel, lock int, labels []cellLabel) {
	g.img.Image = img
	g.geom, g.tiles, g.selI, g.lockI, g.cellLabels = geom, tiles, sel, lock, labels
	g.img.Refresh()
	g.Refresh()
}

// toWidget converts a rectangle of the shown image to widget coordinates.
func (g *gridView) toWidget(r image.Rectangle) (fyne.Position, fyne.Size) {
	size := g.Size()
	sx, sy := size.Width/float32(max(g.geom.W, 1)), size.Height/float32(max(g.geom.H, 1))
	return fyne.NewPos(float32(r.Min.X)*sx, float32(r.Min.Y)*sy),
		fyne.NewSize(float32(r.Dx())*sx, float32(r.Dy())*sy)
}

// tileAt returns the tile at a widget position, or -1.
func (g *gridView) tileAt(p fyne.Position) int {
	if !g.tiles {
		return -1
	}
	size := g.Size()
	if size.Width <= 0 || size.Height <= 0 {
		return -1
	}
	x := int(p.X * float32(g.geom.W) / size.Width)
	y := int(p.Y * float32(g.geom.H) / size.Height)
	return g.geom.At(x, y)
}

// TileCenter returns the centre of tile i in widget coordinates (for tests
// and key-driven pointers).
func (g *gridView) TileCenter(i int) fyne.Position {
	pos, size := g.toWidget(g.geom.Rect(i))
	return fyne.NewPos(pos.X+size.Width/2, pos.Y+size.Height/2)
}

// Tapped selects the tile under the pointer.
func (g *gridView) Tapped(e *fyne.PointEvent) {
	if i := g.tileAt(e.Position); i >= 0 && g.OnTap != nil {
		g.OnTap(i)
	}
}

// MouseIn reports the tile under the pointer.
func (g *gridView) MouseIn(e *desktop.MouseEvent) { g.MouseMoved(e) }

// MouseMoved reports the tile under the pointer.
func (g *gridView) MouseMoved(e *desktop.MouseEvent) {
	i := g.tileAt(e.Position)
	if i == g.hoverI {
		return
	}
	g.hoverI = i
	g.Refresh()
	if g.OnHover != nil {
		g.OnHover(i)
	}
}

// MouseOut ends the hover.
func (g *gridView) MouseOut() {
	if g.hoverI == -1 {
		return
	}
	g.hoverI = -1
	g.Refresh()
	if g.OnHover != nil {
		g.OnHover(-1)
	}
}

var _ desktop.Hoverable = (*gridView)(nil)
var _ fyne.Tappable = (*gridView)(nil)

func (g *gridView) CreateRenderer() fyne.WidgetRenderer {
	return &gridRenderer{g: g}
}

type gridRenderer struct{ g *gridView }

func (r *gridRenderer) Destroy() {}

func (r *gridRenderer) MinSize() fyne.Size { return fyne.NewSize(160, 120) }

func (r *gridRenderer) Objects() []fyne.CanvasObject {
	g := r.g
	objs := []fyne.CanvasObject{g.img, g.lock, g.sel, g.hover}
	for i := range g.labels {
		objs = append(objs, g.labelBGs[i], g.labels[i])
	}
	return objs
}

func (r *gridRenderer) Layout(size fyne.Size) {
	g := r.g
	g.setPixelSize(size)
	g.img.Resize(size)
	g.img.Move(fyne.NewPos(0, 0))
	r.place(g.sel, g.selI)
	r.place(g.lock, g.lockI)
	r.place(g.hover, g.hoverI)
	r.placeLabels()
}

// place puts a mark around tile i, or hides it.
func (r *gridRenderer) place(m *canvas.Rectangle, i int) {
	g := r.g
	if !g.tiles || i < 0 || i >= g.geom.N {
		m.Hide()
		return
	}
	pos, size := g.toWidget(g.geom.Rect(i))
	pad := g.thick
	m.StrokeWidth = g.thick
	m.Move(fyne.NewPos(pos.X-pad, pos.Y-pad))
	m.Resize(fyne.NewSize(size.Width+2*pad, size.Height+2*pad))
	m.Show()
}

// placeLabels puts the cell labels next to their tiles.
func (r *gridRenderer) placeLabels() {
	g := r.g
	for len(g.labels) < len(g.cellLabels) {
		t := canvas.NewText("", color.White)
		t.TextSize = 12
		bg := canvas.NewRectangle(color.NRGBA{0, 0, 0, 0xc0})
		g.labels, g.labelBGs = append(g.labels, t), append(g.labelBGs, bg)
	}
	size := g.Size()
	var placed []fyne.Position // the labels' corners, to stack colliding ones
	for i, t := range g.labels {
		bg := g.labelBGs[i]
		if i >= len(g.cellLabels) || !g.tiles {
			t.Hide()
			bg.Hide()
			continue
		}
		cl := g.cellLabels[i]
		t.Text = cl.Text
		t.TextSize = 12 * g.thick / 2
		ts := fyne.MeasureText(t.Text, t.TextSize, t.TextStyle)
		pos, cell := g.toWidget(g.geom.Rect(cl.Tile))
		x := pos.X + cell.Width + 3
		if x+ts.Width > size.Width {
			x = pos.X - ts.Width - 3
		}
		y := pos.Y + cell.Height/2 - ts.Height/2
		for again := true; again; {
			again = false
			for _, p := range placed {
				if x < p.X+ts.Width+40 && p.X < x+ts.Width+40 && y < p.Y+ts.Height && p.Y < y+ts.Height {
					y, again = p.Y+ts.Height+1, true
				}
			}
		}
		placed = append(placed, fyne.NewPos(x, y))
		t.Move(fyne.NewPos(x, y))
		t.Resize(ts)
		bg.Move(fyne.NewPos(x-2, y))
		bg.Resize(fyne.NewSize(ts.Width+4, ts.Height))
		bg.Show()
		t.Show()
		t.Refresh()
	}
}

func (r *gridRenderer) Refresh() {
	r.Layout(r.g.Size())
	for _, o := range []fyne.CanvasObject{r.g.sel, r.g.lock, r.g.hover} {
		o.Refresh()
	}
}
