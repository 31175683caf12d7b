package model

import (
	"image"
	"math"
	"sync"
)

// Image preprocessing: resize and crop per the sidecar's mode with a
// bilinear filter (antialiased when shrinking, like PIL's; resample.go),
// convert the colours and normalise to a 1 x C x H x W float32 tensor. The
// resized pixels are rounded to 8 bits as PIL does (x/image/draw truncates,
// which darkens by half a level on average: enough to swap close top-2
// predictions relative to PIL-based pipelines). Preprocessing is safe for
// concurrent use.

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
	putRGBA(buf)
	return dst
}

// PreprocessedImage returns the Width x Height crop as the network sees it
// (before normalisation): *image.Gray for GRAY networks, else *image.RGBA
// in display (RGB) order.
func (s *Sidecar) PreprocessedImage(img image.Image) image.Image {
	w, h := s.Input.Width, s.Input.Height
	buf, x0, y0 := s.resized(img)
	defer putRGBA(buf)
	if s.Channels() == 1 {
		g := image.NewGray(image.Rect(0, 0, w, h))
		if buf == nil {
			return g
		}
		for y := range h {
			p := buf.Pix[(y0+y)*buf.Stride+4*x0:]
			for x := range w {
				g.Pix[y*g.Stride+x] = uint8(math.Round(luma(p[4*x:])))
			}
		}
		return g
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	if buf == nil {
		return out
	}
	for y := range h {
		copy(out.Pix[y*out.Stride:y*out.Stride+4*w], buf.Pix[(y0+y)*buf.Stride+4*x0:])
	}
	return out
}

// luma is the ITU-R BT.601 luma, in 0..255, of an RGBA pixel p[0:3].
func luma(p []uint8) float64 {
	return 0.299*float64(p[0]) + 0.587*float64(p[1]) + 0.114*float64(p[2])
}

// resized returns the Width x Height crop of img resized per the
// geometry, with 8 bits per channel like torchvision's PIL resize (from a
// pool: hand it back with putRGBA), and the crop's offset in it (always 0,
// 0: only the crop is resized). It returns nil for an empty image.
func (s *Sidecar) resized(img image.Image) (*image.RGBA, int, int) {
	b := img.Bounds()
	if b.Empty() {
		return nil, 0, 0
	}
	rw, rh, x0, y0 := s.geometry(b.Dx(), b.Dy())
	buf := getRGBA(s.Input.Width, s.Input.Height)
	resizeCrop(buf, img, rw, rh, x0, y0)
	return buf, 0, 0
}

// normalize writes (pixel/scale - mean)/std of the Width x Height crop at
// (x0, y0) of buf into dst in C x H x W order (pixel 0 everywhere when buf
// is nil).
func (s *Sidecar) normalize(dst []float32, buf *image.RGBA, x0, y0 int) {
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
			p := buf.Pix[(y0+y)*buf.Stride+4*x0:]
			for x := range row {
				row[x] = float32((luma(p[4*x:])/scale - mean) / std)
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
		// The 256 values a pixel level can take.
		scale, mean, std := s.Input.Scale, s.mean(ch), s.std(ch)
		var lut [256]float32
		for v := range lut {
			lut[v] = float32((float64(v)/scale - mean) / std)
		}
		out := dst[ch*plane : (ch+1)*plane]
		for y := range h {
			row := out[y*w : (y+1)*w]
			if buf == nil {
				for x := range row {
					row[x] = lut[0]
				}
				continue
			}
			p := buf.Pix[(y0+y)*buf.Stride+4*x0+src:]
			p = p[:4*(w-1)+1]
			for x := range row {
				row[x] = lut[p[4*x]]
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

// rgbaPool recycles the resize buffers.
var rgbaPool sync.Pool // *image.RGBA

func getRGBA(w, h int) *image.RGBA {
	if m, ok := rgbaPool.Get().(*image.RGBA); ok && cap(m.Pix) >= 4*w*h {
		m.Pix = m.Pix[:4*w*h]
		m.Stride = 4 * w
		m.Rect = image.Rect(0, 0, w, h)
		return m
	}
	return image.NewRGBA(image.Rect(0, 0, w, h))
}

func putRGBA(m *image.RGBA) {
	if m != nil {
		rgbaPool.Put(m)
	}
}
