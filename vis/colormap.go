package vis

import (
	"encoding/hex"
	"fmt"
	"image/color"
	"math"
	"strings"
)

// Colormap maps t in [0, 1] to a colour (t outside is clamped, NaN is 0).
type Colormap func(t float64) color.RGBA

// Colormaps lists the colormap names, default first.
func Colormaps() []string { return []string{"viridis", "jet"} }

// ColormapByName returns a colormap: "viridis" (perceptually uniform, the
// default; also for "") or "jet" (for people used to it).
func ColormapByName(name string) (Colormap, error) {
	switch name {
	case "", "viridis":
		return viridis, nil
	case "jet":
		return jet, nil
	}
	return nil, fmt.Errorf("unknown colormap %q (want %s)", name, strings.Join(Colormaps(), " or "))
}

// lutIndex is matplotlib's lookup of t in a 256-entry table.
func lutIndex(t float64) int {
	if !(t > 0) {
		return 0
	}
	return min(int(t*256), 255)
}

var viridisLUT = func() (lut [256]color.RGBA) {
	b, err := hex.DecodeString(viridisHex)
	if err != nil || len(b) != 3*256 {
		panic("vis: bad viridis table")
	}
	for i := range lut {
		lut[i] = color.RGBA{b[3*i], b[3*i+1], b[3*i+2], 0xff}
	}
	return lut
}()

// viridis is matplotlib's viridis.
func viridis(t float64) color.RGBA { return viridisLUT[lutIndex(t)] }

// knot is one point of a piecewise-linear colour channel.
type knot struct{ x, y float64 }

// jetKnots are matplotlib's jet segments for red, green and blue.
var jetKnots = [3][]knot{
	{{0, 0}, {0.35, 0}, {0.66, 1}, {0.89, 1}, {1, 0.5}},
	{{0, 0}, {0.125, 0}, {0.375, 1}, {0.64, 1}, {0.91, 0}, {1, 0}},
	{{0, 0.5}, {0.11, 1}, {0.34, 1}, {0.65, 0}, {1, 0}},
}

// jet is matplotlib's jet, sampled like its 256-entry table.
func jet(t float64) color.RGBA {
	x := float64(lutIndex(t)) / 255
	var c [3]uint8
	for ch, ks := range jetKnots {
		y := ks[len(ks)-1].y
		for i := 1; i < len(ks); i++ {
			if x <= ks[i].x {
				a, b := ks[i-1], ks[i]
				y = a.y + (b.y-a.y)*(x-a.x)/(b.x-a.x)
				break
			}
		}
		c[ch] = uint8(math.Round(255 * y))
	}
	return color.RGBA{c[0], c[1], c[2], 0xff}
}
