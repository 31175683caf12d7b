package ui

import (
	"image"
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// inspector shows the selected unit: its activation enlarged, and the
// rendering of the back-prop unit (the cursor, or the locked unit) from a
// background job. A rendering that no longer matches the selection or the
// frame is shown dimmed and tinted ("stale"), as in deepvis, until the
// new one arrives.
type inspector struct {
	actTitle  *widget.Label
	act       *canvas.Image
	rendTitle *widget.Label
	rend      *canvas.Image
	badge     *canvas.Text
	badgeBG   *canvas.Rectangle
	progress  *widget.ProgressBar
	method    *widget.Select
	display   *widget.Select
	lock      *widget.Check
	controls  *fyne.Container
	box       *fyne.Container

	stale bool // the rendering shown is stale (for tests and export)
}

func newInspector() *inspector {
	in := &inspector{
		actTitle:  widget.NewLabel("unit"),
		act:       canvas.NewImageFromImage(image.NewRGBA(image.Rect(0, 0, 1, 1))),
		rendTitle: widget.NewLabel("rendering"),
		rend:      canvas.NewImageFromImage(image.NewRGBA(image.Rect(0, 0, 1, 1))),
		badge:     canvas.NewText("stale", color.NRGBA{0xff, 0xd0, 0x60, 0xff}),
		badgeBG:   canvas.NewRectangle(color.NRGBA{0, 0, 0, 0xb0}),
		progress:  widget.NewProgressBar(),
		method:    widget.NewSelect(Methods(), nil),
		display:   widget.NewSelect(Displays(), nil),
		lock:      widget.NewCheck("lock back-prop unit (d)", nil),
	}
	in.actTitle.Truncation = fyne.TextTruncateEllipsis
	in.rendTitle.Truncation = fyne.TextTruncateEllipsis
	in.act.FillMode, in.act.ScaleMode = canvas.ImageFillContain, canvas.ImageScalePixels
	in.rend.FillMode, in.rend.ScaleMode = canvas.ImageFillContain, canvas.ImageScaleFastest
	in.badge.TextStyle.Bold = true
	in.badge.TextSize = theme.CaptionTextSize()
	in.badge.Hide()
	in.badgeBG.Hide()
	in.progress.TextFormatter = func() string { return "idle" }
	in.setScale(1)
	badge := container.NewWithoutLayout(in.badgeBG, in.badge)
	in.controls = container.NewVBox(container.NewGridWithColumns(2, in.method, in.display), in.lock)
	in.box = container.NewVBox(
		in.actTitle, in.act,
		in.rendTitle, container.NewStack(in.rend, badge),
		in.progress,
		in.controls,
	)
	return in
}

// setScale enlarges the pictures by f (presentation mode).
func (in *inspector) setScale(f float32) {
	g := 1 + (f-1)/2 // the column is narrow: grow half as much
	in.act.SetMinSize(fyne.NewSize(200*g, 200*g))
	in.rend.SetMinSize(fyne.NewSize(256*g, 256*g))
}

// showControls shows or hides the method, display and lock controls.
func (in *inspector) showControls(on bool) {
	if on {
		in.controls.Show()
	} else {
		in.controls.Hide()
	}
}

// inspectorView is what the inspector shows for one frame.
type inspectorView struct {
	actTitle, rendTitle string
	act                 *image.RGBA
	rend                *image.RGBA // nil: none yet
	stale               bool
	badge               string // "" hides it
	progress            float64
	busy                bool
	progressText        string
}

func (in *inspector) show(v inspectorView) {
	if in.actTitle.Text != v.actTitle {
		in.actTitle.SetText(v.actTitle)
	}
	if in.rendTitle.Text != v.rendTitle {
		in.rendTitle.SetText(v.rendTitle)
	}
	if v.act != nil {
		in.act.Image = v.act
		in.act.Refresh()
	}
	rend := v.rend
	if rend == nil {
		rend = image.NewRGBA(image.Rect(0, 0, 1, 1))
	}
	if in.rend.Image != rend {
		in.rend.Image = rend
		in.rend.Refresh()
	}
	in.stale = v.stale
	if v.badge == "" {
		in.badge.Hide()
		in.badgeBG.Hide()
	} else {
		in.badge.Text = v.badge
		in.badge.TextSize = theme.CaptionTextSize()
		ts := fyne.MeasureText(v.badge, in.badge.TextSize, in.badge.TextStyle)
		in.badge.Move(fyne.NewPos(6, 4))
		in.badge.Resize(ts)
		in.badgeBG.Move(fyne.NewPos(2, 2))
		in.badgeBG.Resize(fyne.NewSize(ts.Width+8, ts.Height+4))
		in.badge.Show()
		in.badgeBG.Show()
		in.badge.Refresh()
		in.badgeBG.Refresh()
	}
	text := v.progressText
	in.progress.TextFormatter = func() string { return text }
	in.progress.SetValue(v.progress)
}
