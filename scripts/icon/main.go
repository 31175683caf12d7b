// Command icon draws deepscope's application icon: a grid of activation
// tiles, one of them selected in the explorer's amber, under a magnifying
// lens that enlarges it. It writes a 512x512 PNG (assets/icon.png, which
// FyneApp.toml and the window use):
//
//	go run ./scripts/icon -out assets/icon.png
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
)

const size = 512

// Colours of the explorer: its dark background and the selection amber.
var (
	background = rgb{0.08, 0.09, 0.11}
	panel      = rgb{0.13, 0.15, 0.18}
	amber      = rgb{1, 0.78, 0.12}
	ring       = rgb{0.92, 0.93, 0.95}
)

type rgb struct{ r, g, b float64 }

func (c rgb) mix(d rgb, t float64) rgb {
	return rgb{c.r + (d.r-c.r)*t, c.g + (d.g-c.g)*t, c.b + (d.b-c.b)*t}
}

func (c rgb) scale(k float64) rgb { return rgb{c.r * k, c.g * k, c.b * k} }

// The grid: 4x4 tiles of cell pixels with gap between them, starting at
// origin; the selected tile is number sel.
const (
	n      = 4
	cell   = 86.0
	gap    = 12.0
	origin = (size - (n*cell + (n-1)*gap)) / 2
	sel    = 6
)

// The lens: centre, radius of the glass, width of the rim, magnification.
var (
	lensX, lensY = 300.0, 210.0
	lensR        = 112.0
	rim          = 16.0
	zoom         = 1.9
)

func main() {
	out := flag.String("out", "assets/icon.png", "the PNG `file` to write")
	flag.Parse()
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	const ss = 4 // supersampling per axis
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			var acc rgb
			var alpha float64
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					c, a := scene(float64(x)+(float64(sx)+0.5)/ss, float64(y)+(float64(sy)+0.5)/ss)
					acc = rgb{acc.r + c.r*a, acc.g + c.g*a, acc.b + c.b*a}
					alpha += a
				}
			}
			if alpha == 0 {
				continue
			}
			c := acc.scale(1 / alpha)
			img.SetNRGBA(x, y, color.NRGBA{q(c.r), q(c.g), q(c.b), q(alpha / ss / ss)})
		}
	}
	f, err := os.Create(*out)
	if err != nil {
		fail(err)
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(f, img); err != nil {
		fail(err)
	}
	if err := f.Close(); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "icon:", err)
	os.Exit(1)
}

// q quantises 0..1 to a byte; a few levels per channel keep the PNG small.
func q(v float64) uint8 {
	v = math.Max(0, math.Min(1, v))
	return uint8(math.Round(v*255/4) * 4 * 255 / 256)
}

// scene returns the colour and coverage of point (x, y).
func scene(x, y float64) (rgb, float64) {
	// Rounded square plate.
	if !inRoundRect(x, y, 8, 8, size-8, size-8, 92) {
		return rgb{}, 0
	}
	c := background.mix(panel, y/size)
	// Lens handle, under the rim.
	hx0, hy0 := lensX+(lensR+rim*0.6)*math.Cos(math.Pi/4), lensY+(lensR+rim*0.6)*math.Sin(math.Pi/4)
	hx1, hy1 := hx0+105, hy0+105
	d := math.Hypot(x-lensX, y-lensY)
	switch {
	case d < lensR:
		// Inside the glass: the grid magnified about the lens centre,
		// slightly brightened.
		gc, ok := grid(lensX+(x-lensX)/zoom, lensY+(y-lensY)/zoom, true)
		if !ok {
			gc = background.mix(panel, 0.6)
		}
		glint := math.Max(0, 1-math.Hypot(x-(lensX-lensR*0.45), y-(lensY-lensR*0.45))/(lensR*0.5))
		return gc.mix(rgb{1, 1, 1}, 0.35*glint*glint), 1
	case d < lensR+rim:
		t := (d - lensR) / rim
		return ring.scale(0.8 + 0.2*math.Sin(t*math.Pi)), 1
	case segDist(x, y, hx0, hy0, hx1, hy1) < 22:
		return amber.scale(0.85 + 0.15*(y-hy0)/(hy1-hy0)), 1
	}
	if gc, ok := grid(x, y, false); ok {
		c = gc
	}
	return c, 1
}

// grid returns the colour of the tile grid at (x, y), if there is a tile
// there. Each tile shows a different activation-like pattern; the selected
// tile is drawn in amber with a frame.
func grid(x, y float64, magnified bool) (rgb, bool) {
	gx, gy := (x-origin)/(cell+gap), (y-origin)/(cell+gap)
	if gx < 0 || gy < 0 || gx >= n || gy >= n {
		return rgb{}, false
	}
	i, j := int(gx), int(gy)
	u, v := (x-origin-float64(i)*(cell+gap))/cell, (y-origin-float64(j)*(cell+gap))/cell
	if u > 1 || v > 1 {
		return rgb{}, false
	}
	k := j*n + i
	a := activation(k, u, v)
	if k == sel {
		// The selected unit fires strongly: a bright off-centre blob.
		a = math.Exp(-((u-0.42)*(u-0.42) + (v-0.55)*(v-0.55)) * 7)
		edge := math.Min(math.Min(u, 1-u), math.Min(v, 1-v)) * cell
		if edge < 5 {
			return amber, true
		}
		return heat(a), true
	}
	g := 0.1 + 0.75*a
	if magnified {
		g = 0.12 + 0.8*a
	}
	return rgb{g, g, g * 1.04}, true
}

// activation is tile k's pattern at (u, v) in 0..1: oriented stripes,
// blobs and edges like the units of a first convolution layer.
func activation(k int, u, v float64) float64 {
	th := float64(k) * 0.9
	cu, cv := u-0.5, v-0.5
	r := cu*math.Cos(th) + cv*math.Sin(th)
	env := math.Exp(-(cu*cu + cv*cv) * 5)
	switch k % 4 {
	case 0: // stripes
		return env * (0.5 + 0.5*math.Cos(r*float64(8+k)))
	case 1: // blob
		bx, by := 0.3+0.4*frac(float64(k)*0.37), 0.3+0.4*frac(float64(k)*0.61)
		return math.Exp(-((u-bx)*(u-bx) + (v-by)*(v-by)) * 18)
	case 2: // edge
		return env * (1 / (1 + math.Exp(-r*30)))
	}
	// checker-like texture
	return env * math.Abs(math.Sin(u*math.Pi*3+th)*math.Sin(v*math.Pi*3-th))
}

func frac(x float64) float64 { return x - math.Floor(x) }

// heat maps 0..1 to black, red, amber, white.
func heat(a float64) rgb {
	switch {
	case a < 0.4:
		return rgb{0.15, 0.05, 0.02}.mix(rgb{0.8, 0.2, 0.05}, a/0.4)
	case a < 0.8:
		return rgb{0.8, 0.2, 0.05}.mix(amber, (a-0.4)/0.4)
	}
	return amber.mix(rgb{1, 1, 0.9}, (a-0.8)/0.2)
}

func inRoundRect(x, y, x0, y0, x1, y1, r float64) bool {
	cx := math.Max(x0+r, math.Min(x, x1-r))
	cy := math.Max(y0+r, math.Min(y, y1-r))
	return x >= x0 && x < x1 && y >= y0 && y < y1 && math.Hypot(x-cx, y-cy) <= r
}

// segDist is the distance from (x, y) to the segment (x0,y0)-(x1,y1).
func segDist(x, y, x0, y0, x1, y1 float64) float64 {
	dx, dy := x1-x0, y1-y0
	t := math.Max(0, math.Min(1, ((x-x0)*dx+(y-y0)*dy)/(dx*dx+dy*dy)))
	return math.Hypot(x-(x0+t*dx), y-(y0+t*dy))
}
