package vis

import (
	"fmt"
	"image"
	"math"
	"strings"

	"golang.org/x/image/draw"
)

// Display modes of an InputMap v (C x H x W), as in the Deep Visualization
// Toolbox; each is normalised per image.
const (
	// ModeRaw shows the signed map in colour, centred on gray:
	// 0.5 + v / (2 max|v|), one scale for all channels (deepvis norm01c).
	ModeRaw = "raw"
	// ModeGray shows max over channels of |v|, divided by its maximum
	// (Simonyan et al.'s saliency display).
	ModeGray = "gray"
	// ModeNorm shows the L2 norm over channels, scaled to [0, 1] by its
	// minimum and maximum (deepvis norm01).
	ModeNorm = "norm"
	// ModeNormBlur is ModeNorm after a Gaussian blur of σ = NormBlurSigma
	// input pixels (OpenCV's GaussianBlur: radius round(4σ), reflected
	// border).
	ModeNormBlur = "normblur"
)

// NormBlurSigma is the blur of ModeNormBlur in input pixels (deepvis'
// caffevis_grad_norm_blur_radius).
const NormBlurSigma = 4.0

// Modes lists the display modes of input maps.
func Modes() []string { return []string{ModeRaw, ModeGray, ModeNorm, ModeNormBlur} }

// Style says how Render draws a map.
type Style struct {
	// Mode is the display mode of an InputMap; "" uses the map's own
	// default (Map.Mode). HeatMaps ignore it.
	Mode string
	// Colormap names a HeatMap's colormap (see ColormapByName).
	Colormap string
	// Alpha is a HeatMap's opacity over the base image, in [0, 1].
	Alpha float64
	// BGR says the map's channels are in BGR order (ModeRaw shows RGB).
	BGR bool
}

// Render draws a map at the network input's size. An InputMap is drawn in
// its display mode. A HeatMap is upsampled bilinearly, scaled to [0, 1] by
// its minimum and maximum, coloured by the colormap and blended over base
// (the network input as a picture, scaled to the map's size when it
// differs): out = (1-Alpha) base + Alpha colour; without base it is the
// colour alone.
func Render(m *Map, base image.Image, st Style) (*image.RGBA, error) {
	if m == nil || m.Data == nil {
		return nil, fmt.Errorf("render: no map")
	}
	if m.Kind == HeatMap {
		return renderHeat(m, base, st)
	}
	mode := st.Mode
	if mode == "" {
		mode = m.Mode
	}
	if mode == "" {
		mode = ModeRaw
	}
	return renderInput(m, mode, st.BGR)
}

// renderInput draws an InputMap in a display mode.
func renderInput(m *Map, mode string, bgr bool) (*image.RGBA, error) {
	if m.Data.Rank() != 3 || m.Data.Shape[1] != m.Height || m.Data.Shape[2] != m.Width {
		return nil, fmt.Errorf("render: input map of shape %v does not fit %dx%d", m.Data.Shape, m.Height, m.Width)
	}
	c, h, w := m.Data.Shape[0], m.Height, m.Width
	v := m.Data.Data
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	plane := h * w
	switch mode {
	case ModeRaw:
		if c != 1 && c != 3 {
			return nil, fmt.Errorf("render: mode raw shows 1 or 3 channels, the map has %d; use gray or norm", c)
		}
		peak := 0.0
		for _, x := range v {
			peak = math.Max(peak, math.Abs(float64(x)))
		}
		scale := 2*peak + 1e-10
		for i := range plane {
			for ch := range 3 {
				src := min(ch, c-1)
				if bgr && c == 3 {
					src = 2 - ch
				}
				img.Pix[4*i+ch] = to8(0.5 + float64(v[src*plane+i])/scale)
			}
			img.Pix[4*i+3] = 0xff
		}
		return img, nil
	case ModeGray, ModeNorm, ModeNormBlur:
		g := make([]float64, plane)
		for i := range g {
			s := 0.0
			for ch := range c {
				x := float64(v[ch*plane+i])
				if mode == ModeGray {
					s = math.Max(s, math.Abs(x))
				} else {
					s += x * x
				}
			}
			if mode != ModeGray {
				s = math.Sqrt(s)
			}
			g[i] = s
		}
		if mode == ModeNormBlur {
			gaussianBlur(g, h, w, NormBlurSigma)
		}
		lo := 0.0 // gray divides by its maximum only
		if mode != ModeGray {
			lo = minOf(g)
		}
		scale := maxOf(g) - lo + 1e-10
		for i, x := range g {
			p := to8((x - lo) / scale)
			img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = p, p, p, 0xff
		}
		return img, nil
	}
	return nil, fmt.Errorf("unknown display mode %q (want %s)", mode, strings.Join(Modes(), ", "))
}

// renderHeat colours an upsampled HeatMap and blends it over base.
func renderHeat(m *Map, base image.Image, st Style) (*image.RGBA, error) {
	cmap, err := ColormapByName(st.Colormap)
	if err != nil {
		return nil, err
	}
	if st.Alpha < 0 || st.Alpha > 1 || math.IsNaN(st.Alpha) {
		return nil, fmt.Errorf("alpha %g is outside [0, 1]", st.Alpha)
	}
	up := m.Upsample()
	if up == nil {
		return nil, fmt.Errorf("render: heat map of shape %v cannot be placed over %dx%d", m.Data.Shape, m.Height, m.Width)
	}
	lo, hi := float64(up[0]), float64(up[0])
	for _, x := range up {
		lo, hi = math.Min(lo, float64(x)), math.Max(hi, float64(x))
	}
	w, h := m.Width, m.Height
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	var under *image.RGBA
	if base != nil {
		under = image.NewRGBA(img.Rect)
		if base.Bounds().Size() == img.Rect.Size() {
			draw.Draw(under, img.Rect, base, base.Bounds().Min, draw.Src)
		} else {
			draw.BiLinear.Scale(under, img.Rect, base, base.Bounds(), draw.Src, nil)
		}
	}
	a := st.Alpha
	for i, x := range up {
		t := 0.0
		if hi > lo {
			t = (float64(x) - lo) / (hi - lo)
		}
		col := cmap(t)
		px := img.Pix[4*i : 4*i+4]
		px[0], px[1], px[2], px[3] = col.R, col.G, col.B, 0xff
		if under != nil {
			for ch := range 3 {
				px[ch] = to8(((1-a)*float64(under.Pix[4*i+ch]) + a*float64(px[ch])) / 255)
			}
		}
	}
	return img, nil
}

// Upsample resamples a HeatMap to the network input's Height x Width
// (row-major) by bilinear interpolation between cell centres, holding the
// edge cells' values beyond the outermost centres. For a layer's grid
// (Step = H/h, Origin = (Step-1)/2) this is PyTorch's
// F.interpolate(mode="bilinear", align_corners=False). It returns nil for
// a map that is not an h x w grid.
func (m *Map) Upsample() []float32 {
	if m.Data == nil || m.Data.Rank() != 2 || m.Height <= 0 || m.Width <= 0 {
		return nil
	}
	out := make([]float32, m.Height*m.Width)
	m.upsampleInto(out, m.Data.Data)
	return out
}

// upsampleInto resamples src, a grid of m.Data's shape, into dst
// (Height x Width) with m's geometry.
func (m *Map) upsampleInto(dst, src []float32) {
	h, w := m.Data.Shape[0], m.Data.Shape[1]
	ys := axisWeights(m.Height, h, m.Origin[0], m.Step[0])
	xs := axisWeights(m.Width, w, m.Origin[1], m.Step[1])
	for y, ay := range ys {
		r0, r1 := src[ay.i0*w:(ay.i0+1)*w], src[ay.i1*w:(ay.i1+1)*w]
		row := dst[y*m.Width : (y+1)*m.Width]
		for x, ax := range xs {
			top := (1-ax.f)*float64(r0[ax.i0]) + ax.f*float64(r0[ax.i1])
			bot := (1-ax.f)*float64(r1[ax.i0]) + ax.f*float64(r1[ax.i1])
			row[x] = float32((1-ay.f)*top + ay.f*bot)
		}
	}
}

// lerp is one output coordinate's two source cells and the weight of the
// second.
type lerp struct {
	i0, i1 int
	f      float64
}

// axisWeights maps each of n output pixels to the grid of size cells whose
// cell i is centred at origin + i*step.
func axisWeights(n, size int, origin, step float64) []lerp {
	out := make([]lerp, n)
	for o := range out {
		s := 0.0
		if step > 0 {
			s = (float64(o) - origin) / step
		}
		s = math.Max(0, math.Min(s, float64(size-1)))
		i0 := int(s)
		i1 := min(i0+1, size-1)
		out[o] = lerp{i0, i1, s - float64(i0)}
	}
	return out
}

// gaussianBlur blurs an h x w plane in place with a Gaussian of the given
// sigma: OpenCV's GaussianBlur on float data (kernel radius round(4σ),
// normalised, BORDER_REFLECT_101).
func gaussianBlur(v []float64, h, w int, sigma float64) {
	r := int(math.Round(4 * sigma))
	k := make([]float64, 2*r+1)
	sum := 0.0
	for i := range k {
		d := float64(i - r)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	reflect := func(i, n int) int {
		if n == 1 {
			return 0
		}
		for i < 0 || i >= n {
			if i < 0 {
				i = -i
			} else {
				i = 2*(n-1) - i
			}
		}
		return i
	}
	// Rows, then columns; each sum runs over the taps in order, so that
	// the interior loops (no reflection) give what the border ones would.
	tmp := make([]float64, len(v))
	for y := range h {
		row, out := v[y*w:(y+1)*w], tmp[y*w:(y+1)*w]
		for x := range w {
			s := 0.0
			if x >= r && x+r < w {
				for i, kv := range row[x-r : x+r+1][:len(k)] {
					s += k[i] * kv
				}
			} else {
				for i, kv := range k {
					s += kv * row[reflect(x+i-r, w)]
				}
			}
			out[x] = s
		}
	}
	for y := range h {
		out := v[y*w : (y+1)*w]
		clear(out)
		for i, kv := range k {
			src := tmp[reflect(y+i-r, h)*w:][:w]
			for x, t := range src {
				out[x] += kv * t
			}
		}
	}
}

// to8 maps [0, 1] to 0..255, rounding and clamping (NaN gives 0).
func to8(p float64) uint8 {
	if !(p > 0) {
		return 0
	}
	return uint8(math.Round(math.Min(p, 1) * 255))
}

func minOf(v []float64) float64 {
	m := math.Inf(1)
	for _, x := range v {
		m = math.Min(m, x)
	}
	return m
}

func maxOf(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}
