package ui

import (
	"fmt"
	"image"

	"golang.org/x/image/draw"
)

// Pattern mode (deepvis 's'): the activation grid shows each unit's
// optimization image instead of its activation once the image is computed.
// The images are made in the background one unit at a time, from the
// cursor on (so the unit looked at comes first), in the optimize job slot;
// units without an image keep showing their activation. Moving the cursor
// or the layer restarts the order there.

// patternNext returns the unit pattern mode makes next among units: the
// first one without an image from the cursor on, wrapping around; false
// when every unit has one.
func patternNext(units, from int, have func(unit int) bool) (int, bool) {
	if units <= 0 {
		return 0, false
	}
	from = clamp(from, 0, units-1)
	for i := range units {
		u := (from + i) % units
		if !have(u) {
			return u, true
		}
	}
	return 0, false
}

// patternImages returns the finished images of layer's units (nil where
// there is none) and how many there are.
func (a *App) patternImages(layer string, units int) ([]*image.RGBA, int) {
	o := &a.opt
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]*image.RGBA, units)
	n := 0
	for k, im := range o.cache {
		if k.Layer == layer && k.Unit >= 0 && k.Unit < units && im.done && im.img != nil {
			out[k.Unit] = im.img
			n++
		}
	}
	return out, n
}

// drawPatterns draws the units' images over their tiles in the grid
// composed in c (pattern mode), and says so in the grid's title. drawMu is
// held: the tiles are cached in a.opt.thumbs at the grid's tile size.
func (a *App) drawPatterns(c *composed, st State) {
	cur := st.Current()
	if !st.Pattern || cur.Name == "" {
		return
	}
	if cur.FC() {
		c.gridTitle += "  — pattern mode: not for layers without maps"
		return
	}
	imgs, n := a.patternImages(cur.Name, cur.C)
	c.gridTitle += fmt.Sprintf("  — pattern mode: %d/%d units optimized", n, cur.C)
	if !c.tiles || n == 0 || c.geom.N != cur.C {
		return
	}
	if a.opt.thumbs == nil || a.opt.thumbLayer != cur.Name {
		a.opt.thumbs, a.opt.thumbLayer = map[int]patternTile{}, cur.Name
	}
	tw, th := c.geom.TileW, c.geom.TileH
	for u, img := range imgs {
		if img == nil {
			continue
		}
		t := a.opt.thumbs[u]
		if t.tile == nil || t.src != img || t.tile.Rect.Dx() != tw || t.tile.Rect.Dy() != th {
			t = patternTile{src: img, tile: thumbnail(img, tw, th)}
			a.opt.thumbs[u] = t
		}
		draw.Draw(c.grid, c.geom.Rect(u), t.tile, image.Point{}, draw.Src)
	}
}

// patternTile is a unit's image scaled to the grid's tiles, and the image
// it was scaled from (g again makes a new one).
type patternTile struct{ src, tile *image.RGBA }

// thumbnail scales img to w x h pixels (smoothly, it is a picture).
func thumbnail(img *image.RGBA, w, h int) *image.RGBA {
	t := image.NewRGBA(image.Rect(0, 0, max(w, 1), max(h, 1)))
	draw.ApproxBiLinear.Scale(t, t.Rect, img, img.Rect, draw.Src, nil)
	return t
}
