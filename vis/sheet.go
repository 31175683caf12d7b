package vis

import (
	"image"
	"image/color"
	"math"

	"golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Tile is one labelled picture of a contact sheet.
type Tile struct {
	Label string
	Image image.Image
}

// Contact sheet geometry in pixels.
const (
	// MinTile is the size small tiles are enlarged to (by a whole factor,
	// nearest neighbour, so that pixels stay sharp).
	MinTile   = 128
	sheetPad  = 8
	labelRows = 18 // the label line under each tile
)

// Sheet lays the tiles out in a grid of cols columns (0: about square),
// left to right and top to bottom, each with its label centred under it,
// black on white: the picture a lecturer puts on a slide.
func Sheet(tiles []Tile, cols int) *image.RGBA {
	n := len(tiles)
	if cols <= 0 {
		cols = max(1, int(math.Ceil(math.Sqrt(float64(n)))))
	}
	cols = max(1, min(cols, n))
	rows := (n + cols - 1) / cols
	// Cell size: the largest tile after enlargement.
	cw, ch := 0, 0
	scale := make([]int, n)
	for i, t := range tiles {
		b := t.Image.Bounds()
		scale[i] = max(1, (MinTile+max(b.Dx(), b.Dy())-1)/max(1, max(b.Dx(), b.Dy())))
		cw, ch = max(cw, b.Dx()*scale[i]), max(ch, b.Dy()*scale[i])
	}
	cw = max(cw, 7*10) // room for a ten-letter label
	W := sheetPad + cols*(cw+sheetPad)
	H := sheetPad + rows*(ch+labelRows+sheetPad)
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	draw.Draw(img, img.Rect, image.White, image.Point{}, draw.Src)
	face := basicfont.Face7x13
	for i, t := range tiles {
		x0 := sheetPad + i%cols*(cw+sheetPad)
		y0 := sheetPad + i/cols*(ch+labelRows+sheetPad)
		b := t.Image.Bounds()
		w, h := b.Dx()*scale[i], b.Dy()*scale[i]
		dst := image.Rect(x0+(cw-w)/2, y0+(ch-h)/2, x0+(cw-w)/2+w, y0+(ch-h)/2+h)
		draw.NearestNeighbor.Scale(img, dst, t.Image, b, draw.Src, nil)
		label := t.Label
		if max := cw / face.Advance; len(label) > max {
			label = label[:max]
		}
		d := font.Drawer{Dst: img, Src: image.NewUniform(color.Black), Face: face}
		adv := d.MeasureString(label).Ceil()
		d.Dot = fixed.P(x0+(cw-adv)/2, y0+ch+face.Ascent+3)
		d.DrawString(label)
	}
	return img
}
