package model

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// pngHeader returns a PNG signature and IHDR chunk claiming w x h (8-bit
// RGB) and no pixel data.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	data := make([]byte, 13)
	binary.BigEndian.PutUint32(data[0:], w)
	binary.BigEndian.PutUint32(data[4:], h)
	data[8], data[9] = 8, 2 // bit depth, colour type RGB
	chunk := append([]byte("IHDR"), data...)
	binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func TestDecodeImageFormats(t *testing.T) {
	src := numbered(7, 5)
	dir := t.TempDir()
	encoders := map[string]func(*bytes.Buffer) error{
		"a.png":  func(b *bytes.Buffer) error { return png.Encode(b, src) },
		"a.gif":  func(b *bytes.Buffer) error { return gif.Encode(b, src, nil) },
		"a.bmp":  func(b *bytes.Buffer) error { return bmp.Encode(b, src) },
		"a.tiff": func(b *bytes.Buffer) error { return tiff.Encode(b, src, nil) },
		"a.jpg":  func(b *bytes.Buffer) error { return jpeg.Encode(b, src, &jpeg.Options{Quality: 100}) },
	}
	for name, enc := range encoders {
		var b bytes.Buffer
		if err := enc(&b); err != nil {
			t.Fatal(err)
		}
		img, err := DecodeImage(writeFile(t, dir, name, b.String()))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if img.Bounds().Size() != image.Pt(7, 5) {
			t.Fatalf("%s: bounds %v", name, img.Bounds())
		}
		if name == "a.png" || name == "a.bmp" || name == "a.tiff" { // lossless
			if got, want := color.RGBAModel.Convert(img.At(3, 2)), src.RGBAAt(3, 2); got != want {
				t.Fatalf("%s: pixel %v, want %v", name, got, want)
			}
		}
	}
	// The real photos decode (JPEG with EXIF).
	if img, err := DecodeImage(filepath.Join(sharedDir(t), "photos", "dog.jpg")); err != nil || img.Bounds().Dx() != 768 {
		t.Fatalf("dog.jpg: %v", err)
	}
}

func TestDecodeImageErrors(t *testing.T) {
	dir := t.TempDir()
	good := func() []byte {
		var b bytes.Buffer
		png.Encode(&b, numbered(8, 8))
		return b.Bytes()
	}()
	cases := []struct{ name, content, want string }{
		{"empty.png", "", "empty"},
		{"text.jpg", "this is not an image at all", "unknown format"},
		{"huge.png", string(pngHeader(100000, 100000)), "too large"},
		{"wide.png", string(pngHeader(30000, 10)), "too large"},
		{"many.png", string(pngHeader(15000, 15000)), "too large"},
		{"zero.png", string(pngHeader(0, 5)), "zero.png"},
		{"truncated.png", string(good[:len(good)/2]), "truncated.png"},
		{"header-only.png", string(pngHeader(8, 8)), "header-only.png"},
		{"corrupt.png", string(good[:40]) + strings.Repeat("\xff", len(good)-40), "corrupt.png"},
	}
	for _, c := range cases {
		path := writeFile(t, dir, c.name, c.content)
		img, err := DecodeImage(path)
		if err == nil {
			t.Errorf("%s decoded: %v", c.name, img.Bounds())
			continue
		}
		if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not name the file and %q", c.name, err, c.want)
		}
	}
	if _, err := DecodeImage(filepath.Join(dir, "absent.png")); err == nil || !strings.Contains(err.Error(), "absent.png") {
		t.Errorf("missing file: %v", err)
	}
}

func TestFancyUpsampleRow(t *testing.T) {
	// Values are chosen so that every rounding bias matters: each weighted
	// sum sits one below a multiple of 4 (or 16) with the other bias.
	sum := make([]int, 8)
	dst := make([]uint8, 6)
	// 4:2:2: edges copy, inner samples 3/4 + 1/4 of the nearer neighbour
	// with libjpeg's alternating biases 1 and 2.
	upsampleRow(dst, []uint8{102, 200, 2}, 3, 0, 0, 3, 2, 1, 0, sum)
	// 102, (306+200+2)>>2, (600+102+1)>>2, (600+2+2)>>2, (6+200+1)>>2, 2
	if want := []uint8{102, 127, 175, 151, 51, 2}; !bytes.Equal(dst, want) {
		t.Fatalf("4:2:2 row %v, want %v", dst, want)
	}
	// 4:4:0: 3/4 this row + 1/4 the neighbour row, bias 1 (even output row,
	// neighbour above) or 2 (odd, neighbour below).
	plane := []uint8{12, 13, 14, 110, 115, 120} // 3x2, stride 3
	upsampleRow(dst, plane, 3, 1, 0, 3, 1, 2, 0, sum)
	if want := []uint8{(330 + 12 + 1) >> 2, (345 + 13 + 1) >> 2, (360 + 14 + 1) >> 2}; !bytes.Equal(dst[:3], want) {
		t.Fatalf("4:4:0 even row %v, want %v", dst[:3], want)
	}
	upsampleRow(dst, plane, 3, 0, 1, 3, 1, 2, 1, sum)
	if want := []uint8{(36 + 110 + 2) >> 2, (39 + 115 + 2) >> 2, (42 + 120 + 2) >> 2}; !bytes.Equal(dst[:3], want) {
		t.Fatalf("4:4:0 odd row %v, want %v", dst[:3], want)
	}
	// 4:2:0: column sums 3*this + neighbour (342, 358, 374), then 3/4 + 1/4
	// across with biases 8 and 7; edges (4*sum + 8 or 7) >> 4.
	upsampleRow(dst, plane, 3, 1, 0, 3, 2, 2, 0, sum)
	// (1368+8)>>4, (1026+358+7)>>4, (1074+342+8)>>4, (1074+374+7)>>4,
	// (1122+358+8)>>4, (1496+7)>>4
	if want := []uint8{86, 86, 89, 90, 93, 93}; !bytes.Equal(dst, want) {
		t.Fatalf("4:2:0 row %v, want %v", dst, want)
	}
	// A single chroma column.
	upsampleRow(dst, []uint8{77}, 1, 0, 0, 1, 2, 1, 0, sum)
	if dst[0] != 77 || dst[1] != 77 {
		t.Fatalf("one-sample 4:2:2 row %v", dst[:2])
	}
}

func TestYCbCrToRGBA(t *testing.T) {
	// libjpeg's fixed-point conversion: grey, and a saturated red.
	m := image.NewYCbCr(image.Rect(0, 0, 2, 1), image.YCbCrSubsampleRatio444)
	m.Y[0], m.Cb[0], m.Cr[0] = 128, 128, 128
	m.Y[1], m.Cb[1], m.Cr[1] = 76, 85, 255
	rgba := ycbcrToRGBA(m)
	if got := rgba.RGBAAt(0, 0); got != (color.RGBA{128, 128, 128, 255}) {
		t.Fatalf("grey = %v", got)
	}
	if got := rgba.RGBAAt(1, 0); got != (color.RGBA{254, 0, 0, 255}) {
		t.Fatalf("red = %v, want 254,0,0 (libjpeg)", got)
	}
	// Odd sizes and every supported ratio: flat chroma stays flat, and the
	// result is within 1 level of Go's own conversion.
	for _, r := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio440} {
		m := image.NewYCbCr(image.Rect(0, 0, 5, 3), r)
		for i := range m.Y {
			m.Y[i] = uint8(40 * i)
		}
		for i := range m.Cb {
			m.Cb[i], m.Cr[i] = 90, 170
		}
		rgba := ycbcrToRGBA(m)
		for y := range 3 {
			for x := range 5 {
				got, want := rgba.RGBAAt(x, y), color.RGBAModel.Convert(m.At(x, y)).(color.RGBA)
				for c, g := range []uint8{got.R, got.G, got.B} {
					if d := int(g) - int([]uint8{want.R, want.G, want.B}[c]); d < -1 || d > 1 {
						t.Fatalf("%v pixel (%d,%d) = %v, Go gives %v", r, x, y, got, want)
					}
				}
			}
		}
	}
	if ycbcrToRGBA(image.NewYCbCr(image.Rect(0, 0, 4, 4), image.YCbCrSubsampleRatio411)) != nil {
		t.Fatal("4:1:1 should be left to image.YCbCr")
	}
	// Decoded JPEGs come back as RGBA.
	var b bytes.Buffer
	jpeg.Encode(&b, numbered(16, 16), nil)
	img, err := DecodeImage(writeFile(t, t.TempDir(), "x.jpg", b.String()))
	if _, ok := img.(*image.RGBA); err != nil || !ok {
		t.Fatalf("decoded JPEG: %T %v", img, err)
	}
}
