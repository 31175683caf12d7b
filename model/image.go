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
// all are refused before any pixel is decoded.
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
	return img, nil
}
