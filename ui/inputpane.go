package ui

import (
	"fmt"
	"image"
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// inputPane shows the frame as the network sees it (after crop and
// resize), with an optional heat-map overlay, and the top classes as live
// bars.
type inputPane struct {
	img     *canvas.Image
	caption *canvas.Text
	bars    *barsView
	box     *fyne.Container
}

func newInputPane() *inputPane {
	p := &inputPane{
		img:     canvas.NewImageFromImage(image.NewRGBA(image.Rect(0, 0, 1, 1))),
		caption: canvas.NewText("", theme.Color(theme.ColorNameForeground)),
		bars:    newBarsView(5),
	}
	p.img.FillMode = canvas.ImageFillContain
	p.img.ScaleMode = canvas.ImageScaleFastest
	p.img.SetMinSize(fyne.NewSize(256, 256))
	p.caption.TextSize = theme.CaptionTextSize()
	p.box = container.NewVBox(p.img, p.caption, p.bars)
	return p
}

// setScale enlarges the pane by f (presentation mode).
func (p *inputPane) setScale(f float32) {
	p.img.SetMinSize(fyne.NewSize(256*f, 256*f))
	p.caption.TextSize = theme.CaptionTextSize()
	p.bars.Refresh()
}

// show displays a picture, its caption and the top classes.
func (p *inputPane) show(img *image.RGBA, caption string, top []Class) {
	if img != nil {
		p.img.Image = img
		p.img.Refresh()
	}
	if p.caption.Text != caption {
		p.caption.Text = caption
		p.caption.Refresh()
	}
	p.bars.set(top)
}

// barsView draws the top classes as labelled horizontal bars.
type barsView struct {
	widget.BaseWidget
	rows    []barRow
	classes []Class
}

type barRow struct {
	bg, fg *canvas.Rectangle
	label  *canvas.Text
	pct    *canvas.Text
}

func newBarsView(n int) *barsView {
	b := &barsView{}
	for range n {
		r := barRow{
			bg:    canvas.NewRectangle(color.NRGBA{0x2c, 0x30, 0x38, 0xff}),
			fg:    canvas.NewRectangle(color.NRGBA{0x3d, 0x7e, 0xb5, 0xff}),
			label: canvas.NewText("", color.White),
			pct:   canvas.NewText("", color.White),
		}
		r.pct.Alignment = fyne.TextAlignTrailing
		b.rows = append(b.rows, r)
	}
	b.ExtendBaseWidget(b)
	return b
}

// set shows the classes (the first in the brightest colour).
func (b *barsView) set(classes []Class) {
	b.classes = classes
	b.Refresh()
}

func (b *barsView) CreateRenderer() fyne.WidgetRenderer { return &barsRenderer{b} }

type barsRenderer struct{ b *barsView }

func (r *barsRenderer) Destroy() {}

func (r *barsRenderer) rowHeight() float32 { return theme.TextSize() + 8 }

func (r *barsRenderer) MinSize() fyne.Size {
	return fyne.NewSize(200, float32(len(r.b.rows))*(r.rowHeight()+2))
}

func (r *barsRenderer) Objects() []fyne.CanvasObject {
	var objs []fyne.CanvasObject
	for _, row := range r.b.rows {
		objs = append(objs, row.bg, row.fg, row.label, row.pct)
	}
	return objs
}

func (r *barsRenderer) Layout(size fyne.Size) {
	h := r.rowHeight()
	for i, row := range r.b.rows {
		y := float32(i) * (h + 2)
		row.bg.Move(fyne.NewPos(0, y))
		row.bg.Resize(fyne.NewSize(size.Width, h))
		p := 0.0
		if i < len(r.b.classes) {
			p = r.b.classes[i].Prob
		}
		row.fg.Move(fyne.NewPos(0, y))
		row.fg.Resize(fyne.NewSize(size.Width*float32(p), h))
		ts := theme.TextSize()
		row.label.TextSize, row.pct.TextSize = ts, ts
		row.label.Move(fyne.NewPos(6, y+(h-ts)/2-2))
		row.pct.Move(fyne.NewPos(size.Width-6, y+(h-ts)/2-2))
	}
}

func (r *barsRenderer) Refresh() {
	for i, row := range r.b.rows {
		label, pct := "", ""
		if i < len(r.b.classes) {
			c := r.b.classes[i]
			label, pct = c.Label, fmt.Sprintf("%.1f%%", 100*c.Prob)
		}
		row.fg.FillColor = color.NRGBA{0x3d, 0x7e, 0xb5, 0xff}
		if i == 0 {
			row.fg.FillColor = color.NRGBA{0x4f, 0xa8, 0xe8, 0xff}
		}
		row.label.Text, row.pct.Text = label, pct
	}
	r.Layout(r.b.Size())
	for _, o := range r.Objects() {
		o.Refresh()
	}
}
