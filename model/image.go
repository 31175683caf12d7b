package model

import (
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // register GIF
	_ "image/jpeg" // register JPEG
	_ "image/png"  // register PNG
	"io"
	"os"

	_ "golang.org/x/image/bmp"  // register BMP
	_ "golang.org/x/image/tiff" // register TIFF
	_ "golang.org/x/image/webp" // register WebP
)

// Limits DecodeImage enforces, from the image header, before decoding.
const (
	MaxImageSide   = 20000
	MaxImagePixels = 100_000_000
)

// DecodeImage reads a PNG, JPEG, GIF (first frame), BMP, WebP or TIFF
// file. Errors name the file; empty files, unknown formats and images whose
// header claims more than MaxImageSide pixels on a side or MaxImagePixels in
// all are refused before any pixel is decoded. JPEGs are converted to
// *image.RGBA the way libjpeg does (see ycbcrToRGBA), so that network inputs
// match those of PIL/OpenCV pipelines to within a few levels.
func DecodeImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return decodeImage(f, path)
}

func decodeImage(r io.ReadSeeker, name string) (image.Image, error) {
	cfg, format, err := image.DecodeConfig(r)
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		if n, _ := r.Seek(0, io.SeekEnd); n == 0 {
			return nil, fmt.Errorf("image %s: the file is empty", name)
		}
		return nil, fmt.Errorf("image %s: truncated or corrupt header", name)
	case errors.Is(err, image.ErrFormat):
		if n, _ := r.Seek(0, io.SeekEnd); n == 0 {
			return nil, fmt.Errorf("image %s: the file is empty", name)
		}
		return nil, fmt.Errorf("image %s: unknown format (want PNG, JPEG, GIF, BMP, WebP or TIFF)", name)
	case err != nil:
		return nil, fmt.Errorf("image %s: %v", name, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("image %s: empty %s image (%dx%d)", name, format, cfg.Width, cfg.Height)
	}
	if cfg.Width > MaxImageSide || cfg.Height > MaxImageSide || int64(cfg.Width)*int64(cfg.Height) > MaxImagePixels {
		return nil, fmt.Errorf("image %s: %s image of %dx%d pixels is too large (limit %d per side, %d in all)",
			name, format, cfg.Width, cfg.Height, MaxImageSide, MaxImagePixels)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("image %s: %v", name, err)
	}
	img, _, err := image.Decode(r)
	if err != nil {
		return nil, fmt.Errorf("image %s: decode %s: %v", name, format, err)
	}
	if b := img.Bounds(); b.Empty() {
		return nil, fmt.Errorf("image %s: empty %s image", name, format)
	}
	if ycc, ok := img.(*image.YCbCr); ok {
		if rgba := ycbcrToRGBA(ycc); rgba != nil {
			img = rgba
		}
	}
	return img, nil
}

// ycbcrToRGBA converts a decoded JPEG to RGB the way libjpeg(-turbo) does,
// as PIL, OpenCV and browsers do: subsampled chroma is interpolated
// ("fancy upsampling", a triangle filter) rather than repeated as by
// image.YCbCr's At, and colours use libjpeg's fixed-point conversion. This
// keeps network inputs within a few levels of those of the usual Python
// pipelines (Go's nearest chroma differs by up to ~35 levels at colour
// edges). It returns nil for subsampling ratios other than 4:4:4, 4:2:2,
// 4:2:0 and 4:4:0.
func ycbcrToRGBA(m *image.YCbCr) *image.RGBA {
	var hf, vf int
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
		hf, vf = 1, 1
	case image.YCbCrSubsampleRatio422:
		hf, vf = 2, 1
	case image.YCbCrSubsampleRatio420:
		hf, vf = 2, 2
	case image.YCbCrSubsampleRatio440:
		hf, vf = 1, 2
	default:
		return nil
	}
	b := m.Rect
	if b.Min != (image.Point{}) {
		return nil
	}
	w, h := b.Dx(), b.Dy()
	cw, ch := (w+hf-1)/hf, (h+vf-1)/vf
	out := image.NewRGBA(b)
	cb, cr := make([]uint8, w+1), make([]uint8, w+1)
	sum := make([]int, cw)
	for y := range h {
		cy := y / vf
		// Vertical neighbour: the chroma row above for even rows, below for
		// odd rows (edge rows repeat).
		ny := cy
		if vf == 2 {
			if y%2 == 0 {
				ny = max(cy-1, 0)
			} else {
				ny = min(cy+1, ch-1)
			}
		}
		upsampleRow(cb, m.Cb, m.CStride, cy, ny, cw, hf, vf, y%2, sum)
		upsampleRow(cr, m.Cr, m.CStride, cy, ny, cw, hf, vf, y%2, sum)
		yrow := m.Y[y*m.YStride:]
		o := out.Pix[y*out.Stride:]
		for x := range w {
			yy, u, v := int(yrow[x]), int(cb[x])-128, int(cr[x])-128
			o[4*x] = clamp8(yy + (91881*v+32768)>>16)
			o[4*x+1] = clamp8(yy + (-22554*u-46802*v+32768)>>16)
			o[4*x+2] = clamp8(yy + (116130*u+32768)>>16)
			o[4*x+3] = 0xff
		}
	}
	return out
}

// upsampleRow writes one full-resolution row of chroma plane c (stride
// stride, cw samples a row) into dst, from chroma row cy and its vertical
// neighbour ny, following libjpeg's fancy upsampling and its rounding.
// odd is the output row's parity; sum is scratch of cw ints.
func upsampleRow(dst, c []uint8, stride, cy, ny, cw, hf, vf, odd int, sum []int) {
	row, nrow := c[cy*stride:cy*stride+cw], c[ny*stride:ny*stride+cw]
	switch {
	case hf == 1 && vf == 1:
		copy(dst, row)
	case hf == 1: // 4:4:0: 3/4 this row + 1/4 the neighbour
		bias := 1 + odd
		for i := range cw {
			dst[i] = uint8((3*int(row[i]) + int(nrow[i]) + bias) >> 2)
		}
	case vf == 1: // 4:2:2: 3/4 this column + 1/4 the nearer neighbour
		if cw == 1 {
			dst[0], dst[1] = row[0], row[0]
			return
		}
		dst[0] = row[0]
		dst[1] = uint8((3*int(row[0]) + int(row[1]) + 2) >> 2)
		for i := 1; i < cw-1; i++ {
			dst[2*i] = uint8((3*int(row[i]) + int(row[i-1]) + 1) >> 2)
			dst[2*i+1] = uint8((3*int(row[i]) + int(row[i+1]) + 2) >> 2)
		}
		dst[2*cw-2] = uint8((3*int(row[cw-1]) + int(row[cw-2]) + 1) >> 2)
		dst[2*cw-1] = row[cw-1]
	default: // 4:2:0: vertical then horizontal triangle filter
		for i := range cw {
			sum[i] = 3*int(row[i]) + int(nrow[i])
		}
		if cw == 1 {
			dst[0] = uint8((4*sum[0] + 8) >> 4)
			dst[1] = uint8((4*sum[0] + 7) >> 4)
			return
		}
		dst[0] = uint8((4*sum[0] + 8) >> 4)
		dst[1] = uint8((3*sum[0] + sum[1] + 7) >> 4)
		for i := 1; i < cw-1; i++ {
			dst[2*i] = uint8((3*sum[i] + sum[i-1] + 8) >> 4)
			dst[2*i+1] = uint8((3*sum[i] + sum[i+1] + 7) >> 4)
		}
		dst[2*cw-2] = uint8((3*sum[cw-1] + sum[cw-2] + 8) >> 4)
		dst[2*cw-1] = uint8((4*sum[cw-1] + 7) >> 4)
	}
}

func clamp8(v int) uint8 {
	return uint8(min(max(v, 0), 255))
}
