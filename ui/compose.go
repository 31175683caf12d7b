package ui

import (
	"image"
	"image/color"
	"math"
	"slices"
	"sort"

	"golang.org/x/image/draw"

	"github.com/deepscope/deepscope/model"
	"github.com/deepscope/deepscope/vis"
)

// Colours of the composed images.
var (
	colBackground = color.RGBA{0x1b, 0x1d, 0x22, 0xff} // behind the tiles
	colCell       = color.RGBA{0x2c, 0x30, 0x38, 0xff} // an empty bar cell
	colBar        = color.RGBA{0x5d, 0xb4, 0xe8, 0xff} // a bar
	colBarNeg     = color.RGBA{0xe8, 0x8a, 0x5d, 0xff} // a bar below zero
)

// gridGeom is where the tiles of a layer go in an image of W x H pixels:
// N tiles of TileW x TileH in Cols columns and Rows rows, Gap pixels
// apart, the first at (X0, Y0), the whole block centred.
type gridGeom struct {
	N, Cols, Rows int
	TileW, TileH  int
	Gap           int
	X0, Y0        int
	W, H          int
}

// layoutGrid lays out n tiles of h x w values in W x H pixels with the
// largest tiles that fit: whole multiples of the map's size when that
// loses little room (every value the same number of pixels), else any
// whole number of pixels.
func layoutGrid(n, h, w, W, H, gap int) gridGeom {
	g := gridGeom{N: n, W: W, H: H, Gap: gap, Cols: 1, Rows: max(n, 1), TileW: 1, TileH: 1}
	if n <= 0 || h <= 0 || w <= 0 || W <= 0 || H <= 0 {
		return g
	}
	best := 0.0
	for cols := 1; cols <= n; cols++ {
		rows := (n + cols - 1) / cols
		sx := float64(W-(cols-1)*gap) / float64(cols*w)
		sy := float64(H-(rows-1)*gap) / float64(rows*h)
		if s := math.Min(sx, sy); s > best {
			best, g.Cols, g.Rows = s, cols, rows
		}
		if cols*w > W {
			break // wider only shrinks the tiles
		}
	}
	if best <= 0 && gap > 0 {
		return layoutGrid(n, h, w, W, H, 0)
	}
	s := best
	if s >= 4 {
		s = math.Floor(s)
	}
	g.TileW = max(1, int(s*float64(w)))
	g.TileH = max(1, int(s*float64(h)))
	gw := g.Cols*g.TileW + (g.Cols-1)*g.Gap
	gh := g.Rows*g.TileH + (g.Rows-1)*g.Gap
	g.X0, g.Y0 = max((W-gw)/2, 0), max((H-gh)/2, 0)
	return g
}

// Rect returns tile i's pixels.
func (g gridGeom) Rect(i int) image.Rectangle {
	col, row := i%max(g.Cols, 1), i/max(g.Cols, 1)
	x := g.X0 + col*(g.TileW+g.Gap)
	y := g.Y0 + row*(g.TileH+g.Gap)
	return image.Rect(x, y, x+g.TileW, y+g.TileH)
}

// At returns the tile at pixel (x, y), the gap after a tile counting as
// part of it, or -1.
func (g gridGeom) At(x, y int) int {
	if g.N <= 0 || x < g.X0 || y < g.Y0 {
		return -1
	}
	col, row := (x-g.X0)/(g.TileW+g.Gap), (y-g.Y0)/(g.TileH+g.Gap)
	if col >= g.Cols || row >= g.Rows {
		return -1
	}
	if i := row*g.Cols + col; i < g.N {
		return i
	}
	return -1
}

// fill paints all of dst one colour.
func fill(dst *image.RGBA, c color.RGBA) {
	if len(dst.Pix) < 4 {
		return
	}
	dst.Pix[0], dst.Pix[1], dst.Pix[2], dst.Pix[3] = c.R, c.G, c.B, c.A
	for n := 4; n < len(dst.Pix); n *= 2 {
		copy(dst.Pix[n:], dst.Pix[:n])
	}
}

// fillRect paints r (clipped to dst) one colour.
func fillRect(dst *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(dst.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := dst.Pix[dst.PixOffset(r.Min.X, y):dst.PixOffset(r.Max.X, y)]
		for i := 0; i < len(row); i += 4 {
			row[i], row[i+1], row[i+2], row[i+3] = c.R, c.G, c.B, c.A
		}
	}
}

// span is the normalisation of a range of values to [0, 1].
type span struct{ lo, scale float32 }

// spanOf returns the span of v's minimum and maximum (NaNs ignored).
func spanOf(v []float32) span {
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	if !(hi > lo) {
		if hi == lo && !math.IsInf(float64(lo), 0) {
			return span{lo: lo - 1, scale: 0.5} // a constant map shows mid gray
		}
		return span{scale: 0}
	}
	return span{lo: lo, scale: 1 / (hi - lo)}
}

// saturate is the share of a layer's values drawn at full brightness when
// tiles are normalised per layer: a few outliers must not leave the other
// channels black.
const saturate = 0.001

// layerSpan returns the span from v's minimum to its 1 - saturate
// quantile (found with a histogram, to 1/1024 of the range).
func layerSpan(v []float32) span {
	s := spanOf(v)
	if s.scale == 0 || len(v) < 1000 {
		return s
	}
	const bins = 1024
	var hist [bins]int
	for _, x := range v {
		hist[min(int(s.t(x)*bins), bins-1)]++
	}
	limit, above := int(saturate*float64(len(v))), 0
	top := bins - 1
	for ; top > 0; top-- {
		if above+hist[top] > limit {
			break
		}
		above += hist[top]
	}
	hi := s.lo + float32(top+1)/bins/s.scale
	if !(hi > s.lo) {
		return s
	}
	return span{lo: s.lo, scale: 1 / (hi - s.lo)}
}

// t returns x normalised to [0, 1] (clamped; NaN gives 0).
func (s span) t(x float32) float32 {
	t := (x - s.lo) * s.scale
	if !(t > 0) {
		return 0
	}
	return min(t, 1)
}

// grayLUT maps a normalised value, quantised to lutSize levels, to a gray
// level with a gamma boost.
type grayLUT [lutSize]uint8

const lutSize = 1024

func newGrayLUT(gamma float64) *grayLUT {
	var l grayLUT
	for i := range l {
		l[i] = uint8(math.Round(255 * math.Pow(float64(i)/(lutSize-1), gamma)))
	}
	return &l
}

func (l *grayLUT) at(t float32) uint8 { return l[int(t*(lutSize-1)+0.5)] }

// channelMax returns each channel's maximum of a C x P layer.
func channelMax(v []float32, c int) []float32 {
	p := len(v) / max(c, 1)
	out := make([]float32, c)
	for ch := range c {
		out[ch] = slices.Max(v[ch*p : (ch+1)*p])
	}
	return out
}

// drawTiles draws every channel of a C x h x w layer as a gray tile laid
// out by g, normalised over the layer (its top 0.1% of values saturated;
// see layerSpan) or per channel, with a gamma boost.
func drawTiles(dst *image.RGBA, g gridGeom, v []float32, h, w int, perChannel bool, gamma float64) {
	fill(dst, colBackground)
	if g.N == 0 || len(v) < g.N*h*w {
		return
	}
	lut := newGrayLUT(gamma)
	layer := layerSpan(v[:g.N*h*w])
	xs := make([]int, g.TileW)
	for x := range xs {
		xs[x] = min(x*w/g.TileW, w-1)
	}
	for ch := range g.N {
		plane := v[ch*h*w : (ch+1)*h*w]
		s := layer
		if perChannel {
			s = spanOf(plane)
		}
		r0 := g.Rect(ch)
		r := r0.Intersect(dst.Rect)
		if r.Empty() {
			continue
		}
		for y := r.Min.Y; y < r.Max.Y; y++ {
			src := plane[min((y-r0.Min.Y)*h/g.TileH, h-1)*w:]
			row := dst.Pix[dst.PixOffset(r.Min.X, y):dst.PixOffset(r.Max.X, y)]
			for i, j := 0, r.Min.X-r0.Min.X; i < len(row); i, j = i+4, j+1 {
				p := lut.at(s.t(src[xs[j]]))
				row[i], row[i+1], row[i+2], row[i+3] = p, p, p, 0xff
			}
		}
	}
}

// drawBars draws a C-value layer (1 x 1 spatial) as one bar per unit in
// the cells laid out by g, a bar chart wrapped into rows: each cell spans
// the layer's range, the bar goes from zero (or the minimum, when all
// values are positive) to the value, blue above zero and orange below.
// Cells too small for a bar are coloured by the value.
func drawBars(dst *image.RGBA, g gridGeom, v []float32, gamma float64) {
	fill(dst, colBackground)
	if g.N == 0 || len(v) < g.N {
		return
	}
	lut := newGrayLUT(gamma)
	s := spanOf(v[:g.N])
	zero := s.t(0) // the baseline, as a share of the cell's height
	for i := range g.N {
		r := g.Rect(i)
		t := s.t(v[i])
		if g.TileH < 4 || g.TileW < 2 {
			p := lut.at(t)
			fillRect(dst, r, color.RGBA{p, p, p, 0xff})
			continue
		}
		fillRect(dst, r, colCell)
		bar := colBar
		if v[i] < 0 {
			bar = colBarNeg
		}
		y := func(t float32) int { return r.Max.Y - int(math.Round(float64(t)*float64(r.Dy()))) }
		y0, y1 := y(zero), y(t)
		if y1 == y0 && v[i] != 0 {
			y1 = y0 - 1 // a value next to zero still shows
		}
		fillRect(dst, image.Rect(r.Min.X, min(y0, y1), r.Max.X, max(y0, y1)), bar)
	}
}

// drawMap draws one h x w map enlarged to fill dst (nearest neighbour,
// centred, whole multiples when it fits), normalised by s.
func drawMap(dst *image.RGBA, plane []float32, h, w int, s span, gamma float64) gridGeom {
	g := layoutGrid(1, h, w, dst.Rect.Dx(), dst.Rect.Dy(), 0)
	drawTilesSpan(dst, g, plane, h, w, s, gamma)
	return g
}

// drawTilesSpan is drawTiles for one tile with a given normalisation.
func drawTilesSpan(dst *image.RGBA, g gridGeom, plane []float32, h, w int, s span, gamma float64) {
	fill(dst, colBackground)
	if len(plane) < h*w || h == 0 || w == 0 {
		return
	}
	lut := newGrayLUT(gamma)
	r0 := g.Rect(0)
	r := r0.Intersect(dst.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		src := plane[min((y-r0.Min.Y)*h/g.TileH, h-1)*w:]
		row := dst.Pix[dst.PixOffset(r.Min.X, y):dst.PixOffset(r.Max.X, y)]
		for i, x := 0, r.Min.X-r0.Min.X; i < len(row); i, x = i+4, x+1 {
			p := lut.at(s.t(src[min(x*w/g.TileW, w-1)]))
			row[i], row[i+1], row[i+2], row[i+3] = p, p, p, 0xff
		}
	}
}

// drawGauge draws one value of a layer without spatial extent as a wide
// horizontal bar over the layer's range.
func drawGauge(dst *image.RGBA, x float32, s span) {
	fill(dst, colBackground)
	W, H := dst.Rect.Dx(), dst.Rect.Dy()
	r := image.Rect(W/10, H*2/5, W*9/10, H*3/5)
	fillRect(dst, r, colCell)
	bar := colBar
	if x < 0 {
		bar = colBarNeg
	}
	fillRect(dst, image.Rect(r.Min.X, r.Min.Y, r.Min.X+int(float32(r.Dx())*s.t(x)), r.Max.Y), bar)
}

// drawFit draws src scaled to fit dst, centred, keeping its aspect ratio.
func drawFit(dst *image.RGBA, src image.Image, smooth bool) {
	fill(dst, colBackground)
	if src == nil {
		return
	}
	sb := src.Bounds()
	W, H := dst.Rect.Dx(), dst.Rect.Dy()
	s := math.Min(float64(W)/float64(sb.Dx()), float64(H)/float64(sb.Dy()))
	w, h := int(s*float64(sb.Dx())), int(s*float64(sb.Dy()))
	r := image.Rect((W-w)/2, (H-h)/2, (W-w)/2+w, (H-h)/2+h)
	if smooth {
		draw.ApproxBiLinear.Scale(dst, r, src, sb, draw.Src, nil)
	} else {
		draw.NearestNeighbor.Scale(dst, r, src, sb, draw.Src, nil)
	}
}

// inputPicture converts the network input x (1 x C x H x W) back to the
// picture the network sees into dst (H x W): pixel = (x - bias) / gain in
// the input's channel order, shown as RGB.
func inputPicture(dst *image.RGBA, x *model.Tensor, sp vis.PixelSpace) {
	c, h, w := x.Shape[1], x.Shape[2], x.Shape[3]
	plane := h * w
	sp = fitSpace(sp, c)
	order := [3]int{0, 1, 2}
	switch {
	case c == 1:
		order = [3]int{0, 0, 0}
	case sp.BGR:
		order = [3]int{2, 1, 0}
	}
	var gain, bias [3]float32 // pixel byte = gain * x + bias
	for ch, src := range order {
		gain[ch] = float32(255 / sp.Gain[src])
		bias[ch] = float32(-255*sp.Bias[src]/sp.Gain[src]) + 0.5
	}
	for i := range plane {
		px := dst.Pix[4*i : 4*i+4 : 4*i+4]
		for ch, src := range order {
			p := gain[ch]*x.Data[src*plane+i] + bias[ch]
			switch {
			case p >= 255:
				px[ch] = 255
			case p > 0:
				px[ch] = uint8(p)
			default:
				px[ch] = 0
			}
		}
		px[3] = 0xff
	}
}

// fitSpace returns sp with a gain and bias for each of c channels.
func fitSpace(sp vis.PixelSpace, c int) vis.PixelSpace {
	if len(sp.Gain) >= c && len(sp.Bias) >= c {
		return sp
	}
	out := vis.PixelSpace{BGR: sp.BGR}
	for range c {
		out.Gain, out.Bias = append(out.Gain, 1), append(out.Bias, 0)
	}
	return out
}

// heatOver draws an h x w map, upsampled bilinearly over base (the
// network input's picture, as vis places a layer's cells), in the viridis
// colormap with an opacity that grows with the value: the picture stays
// visible where the map is low.
func heatOver(base *image.RGBA, plane []float32, h, w int, alpha float64) *image.RGBA {
	H, W := base.Rect.Dy(), base.Rect.Dx()
	sy, sx := float64(H)/float64(h), float64(W)/float64(w)
	m := &vis.Map{Kind: vis.HeatMap, Data: model.FromData(plane[:h*w], h, w), Height: H, Width: W,
		Origin: [2]float64{(sy - 1) / 2, (sx - 1) / 2}, Step: [2]float64{sy, sx}}
	return heatOverMap(base, m, alpha)
}

// heatOverMap draws a vis heat map over base like heatOver.
func heatOverMap(base *image.RGBA, m *vis.Map, alpha float64) *image.RGBA {
	up := m.Upsample()
	out := image.NewRGBA(base.Rect)
	if up == nil || len(up) != len(base.Pix)/4 {
		copy(out.Pix, base.Pix)
		return out
	}
	cmap, _ := vis.ColormapByName("viridis")
	s := spanOf(up)
	for i, x := range up {
		t := s.t(x)
		c := cmap(float64(t))
		a := float32(alpha) * (0.25 + 0.75*t)
		px, b := out.Pix[4*i:4*i+4:4*i+4], base.Pix[4*i:4*i+4:4*i+4]
		px[0] = uint8((1-a)*float32(b[0]) + a*float32(c.R) + 0.5)
		px[1] = uint8((1-a)*float32(b[1]) + a*float32(c.G) + 0.5)
		px[2] = uint8((1-a)*float32(b[2]) + a*float32(c.B) + 0.5)
		px[3] = 0xff
	}
	return out
}

// blend mixes over into base (same size) with opacity alpha, into a new
// image.
func blend(base, over *image.RGBA, alpha float64) *image.RGBA {
	out := image.NewRGBA(base.Rect)
	if over.Rect.Size() != base.Rect.Size() {
		scaled := image.NewRGBA(base.Rect)
		draw.ApproxBiLinear.Scale(scaled, scaled.Rect, over, over.Rect, draw.Src, nil)
		over = scaled
	}
	a := float32(alpha)
	for i := range out.Pix {
		out.Pix[i] = uint8((1-a)*float32(base.Pix[i]) + a*float32(over.Pix[i]) + 0.5)
	}
	return out
}

// tint dims an image and shifts it towards blue-gray: the look of a
// stale rendering, as in deepvis.
func tint(src *image.RGBA) *image.RGBA {
	out := image.NewRGBA(src.Rect)
	for i := 0; i+3 < len(src.Pix); i += 4 {
		out.Pix[i] = uint8(0.35*float32(src.Pix[i]) + 30)
		out.Pix[i+1] = uint8(0.35*float32(src.Pix[i+1]) + 38)
		out.Pix[i+2] = uint8(0.35*float32(src.Pix[i+2]) + 64)
		out.Pix[i+3] = 0xff
	}
	return out
}

// Class is one class and its probability.
type Class struct {
	Index int     `json:"index"`
	Label string  `json:"label"`
	Prob  float64 `json:"prob"`
}

// topClasses returns the k most probable classes of the logits v (or of
// probabilities, when v already sums to 1 with no negative entry).
func topClasses(v []float32, k int, label func(int) string) []Class {
	if len(v) == 0 {
		return nil
	}
	p := make([]float64, len(v))
	sum, neg := 0.0, false
	for i, x := range v {
		p[i] = float64(x)
		sum += p[i]
		neg = neg || x < 0
	}
	if neg || math.Abs(sum-1) > 1e-3 {
		hi := slices.Max(p)
		sum = 0
		for i := range p {
			p[i] = math.Exp(p[i] - hi)
			sum += p[i]
		}
		for i := range p {
			p[i] /= sum
		}
	}
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] > p[idx[b]] })
	out := make([]Class, 0, k)
	for _, i := range idx[:min(k, len(idx))] {
		out = append(out, Class{Index: i, Label: label(i), Prob: p[i]})
	}
	return out
}
