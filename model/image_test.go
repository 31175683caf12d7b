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
