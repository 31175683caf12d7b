package model

import (
	"image"
	"math"
	"sync"

	"golang.org/x/image/draw"
)

// Image preprocessing: resize and crop per the sidecar's mode with a
// bilinear filter (antialiased when shrinking, like PIL's), convert the
// colours and normalise to a 1 x C x H x W float32 tensor. The resized image
// keeps 16 bits per channel: truncating it to 8 bits, as x/image/draw does
// for *image.RGBA, darkens it by half a level on average, enough to swap
// close top-2 predictions relative to PIL-based pipelines. Preprocessing is
// safe for concurrent use and, for a stream of same-sized frames with a
// reused destination tensor, does not allocate.

// maxResizePixels bounds the intermediate resized image; beyond it (only
// for absurd aspect ratios) the crop is taken from the source first.
const maxResizePixels = 16 << 20

// geometry returns, for a source image of iw x ih, the size rw x rh it is
// resized to and the offset (x0, y0) of the Width x Height crop within it.
func (s *Sidecar) geometry(iw, ih int) (rw, rh, x0, y0 int) {
	w, h := s.Input.Width, s.Input.Height
	mode, _ := parseResize(s.Input.Resize) // Validate reports bad modes
	if mode.stretch {
		return w, h, 0, 0
	}
	n := mode.shortSide
	if n < 0 {
		n = int(math.Round(float64(max(w, h)) * 256 / 224))
	}
	// The smallest scale that covers w x h, then at least n on the short side.
	scale := max(float64(w)/float64(iw), float64(h)/float64(ih))
	if n > 0 {
		scale = max(scale, float64(n)/float64(min(iw, ih)))
	}
	// Truncate like torchvision's Resize; the epsilon keeps exact products
	// (the short side) from rounding down.
	rw = max(w, int(float64(iw)*scale+1e-6))
	rh = max(h, int(float64(ih)*scale+1e-6))
	return rw, rh, (rw - w) / 2, (rh - h) / 2
}

// Preprocess returns the network input for img: a new 1 x C x H x W tensor.
// Transparent pixels count as black (alpha is premultiplied); an empty image
// gives the value of black everywhere.
func (s *Sidecar) Preprocess(img image.Image) *Tensor {
	return s.PreprocessInto(nil, img)
}

// PreprocessInto is Preprocess writing into dst when dst is a float32
// tensor of the right shape (a new tensor is allocated otherwise) and
// returning it, so that a video stream reuses one buffer.
func (s *Sidecar) PreprocessInto(dst *Tensor, img image.Image) *Tensor {
	c, h, w := s.Channels(), s.Input.Height, s.Input.Width
	if dst == nil || dst.DType != Float32 || len(dst.Shape) != 4 || dst.Shape[0] != 1 || dst.Shape[1] != c ||
		dst.Shape[2] != h || dst.Shape[3] != w || len(dst.Data) != c*h*w {
		dst = NewTensor(1, c, h, w)
	}
	buf, x0, y0 := s.resized(img)
	s.normalize(dst.Data, buf, x0, y0)
	putRGBA64(buf)
	return dst
}

// PreprocessedImage returns the Width x Height crop as the network sees it
// (before normalisation): *image.Gray for GRAY networks, else *image.RGBA
// in display (RGB) order.
func (s *Sidecar) PreprocessedImage(img image.Image) image.Image {
	w, h := s.Input.Width, s.Input.Height
	buf, x0, y0 := s.resized(img)
	defer putRGBA64(buf)
	if s.Channels() == 1 {
		g := image.NewGray(image.Rect(0, 0, w, h))
		if buf == nil {
			return g
		}
		for y := range h {
			p := buf.Pix[(y0+y)*buf.Stride+8*x0:]
			for x := range w {
				g.Pix[y*g.Stride+x] = uint8(math.Round(luma(p[8*x:])))
			}
		}
		return g
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	if buf == nil {
		return out
	}
	for y := range h {
		p := buf.Pix[(y0+y)*buf.Stride+8*x0:]
		o := out.Pix[y*out.Stride:]
		for i := range 4 * w {
			o[i] = uint8((level16(p[2*i:]) + 128) / 257)
		}
	}
	return out
}

// level16 reads a big-endian 16-bit channel value.
func level16(p []uint8) int { return int(p[0])<<8 | int(p[1]) }

// level is a 16-bit channel value as a pixel level in 0..255.
func level(p []uint8) float64 { return float64(level16(p)) / 257 }

// luma is the ITU-R BT.601 luma, in 0..255, of an RGBA64 pixel p[0:6].
func luma(p []uint8) float64 {
	return 0.299*level(p) + 0.587*level(p[2:]) + 0.114*level(p[4:])
}

// resized returns img resized to the geometry's rw x rh (from a pool: hand
// it back with putRGBA64) and the crop offset in it. It returns nil for an
// empty image.
func (s *Sidecar) resized(img image.Image) (*image.RGBA64, int, int) {
	b := img.Bounds()
	if b.Empty() {
		return nil, 0, 0
	}
	rw, rh, x0, y0 := s.geometry(b.Dx(), b.Dy())
	if rw*rh > maxResizePixels {
		// Scale only the part of the source that becomes the crop.
		w, h := s.Input.Width, s.Input.Height
		fx, fy := float64(b.Dx())/float64(rw), float64(b.Dy())/float64(rh)
		sr := image.Rect(
			b.Min.X+int(math.Round(float64(x0)*fx)), b.Min.Y+int(math.Round(float64(y0)*fy)),
			b.Min.X+int(math.Round(float64(x0+w)*fx)), b.Min.Y+int(math.Round(float64(y0+h)*fy)))
		if sr.Empty() {
			sr.Max = sr.Min.Add(image.Pt(1, 1))
		}
		sr = sr.Intersect(b)
		buf := getRGBA64(w, h)
		scaler(w, h, sr.Dx(), sr.Dy()).Scale(buf, buf.Rect, img, sr, draw.Src, nil)
		return buf, 0, 0
	}
	buf := getRGBA64(rw, rh)
	if rw == b.Dx() && rh == b.Dy() {
		draw.Draw(buf, buf.Rect, img, b.Min, draw.Src)
	} else {
		scaler(rw, rh, b.Dx(), b.Dy()).Scale(buf, buf.Rect, img, b, draw.Src, nil)
	}
	return buf, x0, y0
}

// normalize writes (pixel/scale - mean)/std of the Width x Height crop at
// (x0, y0) of buf into dst in C x H x W order (pixel 0 everywhere when buf
// is nil).
func (s *Sidecar) normalize(dst []float32, buf *image.RGBA64, x0, y0 int) {
	c, h, w := s.Channels(), s.Input.Height, s.Input.Width
	plane := h * w
	if c == 1 {
		scale, mean, std := s.Input.Scale, s.mean(0), s.std(0)
		for y := range h {
			row := dst[y*w : (y+1)*w]
			if buf == nil {
				for x := range row {
					row[x] = float32((0/scale - mean) / std)
				}
				continue
			}
			p := buf.Pix[(y0+y)*buf.Stride+8*x0:]
			for x := range row {
				row[x] = float32((luma(p[8*x:])/scale - mean) / std)
			}
		}
		return
	}
	for ch := range c {
		// src is the RGBA component feeding tensor channel ch.
		src := ch
		if s.Input.Color == BGR {
			src = 2 - ch
		}
		scale, mean, std := s.Input.Scale, s.mean(ch), s.std(ch)
		out := dst[ch*plane : (ch+1)*plane]
		for y := range h {
			row := out[y*w : (y+1)*w]
			if buf == nil {
				for x := range row {
					row[x] = float32((0/scale - mean) / std)
				}
				continue
			}
			p := buf.Pix[(y0+y)*buf.Stride+8*x0+2*src:]
			for x := range row {
				row[x] = float32((level(p[8*x:])/scale - mean) / std)
			}
		}
	}
}

// ToImage inverts the normalisation of a 1 x C x H x W (or C x H x W)
// tensor: pixel = (value*std + mean)*scale, rounded and clamped to 0..255.
// It returns *image.Gray for one channel and *image.RGBA for three (read in
// the sidecar's colour order), or nil for any other shape.
func (s *Sidecar) ToImage(t *Tensor) image.Image {
	if t == nil || t.DType != Float32 {
		return nil
	}
	shape := t.Shape
	if len(shape) == 4 {
		shape = shape[1:]
	}
	if len(shape) != 3 || (shape[0] != 1 && shape[0] != 3) || shape[1] <= 0 || shape[2] <= 0 || len(t.Data) < NumElements(shape) {
		return nil
	}
	c, h, w := shape[0], shape[1], shape[2]
	plane := h * w
	pixel := func(ch int, v float32) uint8 {
		p := (float64(v)*s.std(ch) + s.mean(ch)) * s.Input.Scale
		if !(p > 0) { // also NaN
			return 0
		}
		return uint8(math.Round(min(p, 255)))
	}
	if c == 1 {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for i, v := range t.Data[:plane] {
			g.Pix[i] = pixel(0, v)
		}
		return g
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for ch := range 3 {
		dst := ch
		if s.Input.Color == BGR {
			dst = 2 - ch
		}
		for i, v := range t.Data[ch*plane : (ch+1)*plane] {
			out.Pix[4*i+dst] = pixel(ch, v)
		}
	}
	for i := 3; i < len(out.Pix); i += 4 {
		out.Pix[i] = 0xff
	}
	return out
}

// rgba64Pool recycles the resize buffers.
var rgba64Pool sync.Pool // *image.RGBA64

func getRGBA64(w, h int) *image.RGBA64 {
	if m, ok := rgba64Pool.Get().(*image.RGBA64); ok && cap(m.Pix) >= 8*w*h {
		m.Pix = m.Pix[:8*w*h]
		m.Stride = 8 * w
		m.Rect = image.Rect(0, 0, w, h)
		return m
	}
	return image.NewRGBA64(image.Rect(0, 0, w, h))
}

func putRGBA64(m *image.RGBA64) {
	if m != nil {
		rgba64Pool.Put(m)
	}
}

// scalers caches bilinear scalers (their filter weights and temporary
// buffers) by destination and source size, so that a stream of same-sized
// frames does not recompute or reallocate them.
var scalers struct {
	sync.Mutex
	m map[[4]int]draw.Scaler
}

func scaler(dw, dh, sw, sh int) draw.Scaler {
	key := [4]int{dw, dh, sw, sh}
	scalers.Lock()
	defer scalers.Unlock()
	if sc, ok := scalers.m[key]; ok {
		return sc
	}
	if scalers.m == nil || len(scalers.m) >= 16 {
		scalers.m = map[[4]int]draw.Scaler{}
	}
	sc := draw.BiLinear.NewScaler(dw, dh, sw, sh)
	scalers.m[key] = sc
	return sc
}
