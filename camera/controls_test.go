package camera

import (
	"image"
	"image/color"
	"testing"
)

// gradient returns a w x h image whose pixel (x, y) is (x, y, 7).
func gradient(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetRGBA(x, y, color.RGBA{uint8(x), uint8(y), 7, 255})
		}
	}
	return img
}

func TestCropAspect(t *testing.T) {
	for _, c := range []struct {
		iw, ih, w, h   int
		want           image.Point // size
		wantX0, wantY0 int         // source pixel at the crop's origin
	}{
		{40, 20, 224, 224, image.Pt(20, 20), 10, 0},
		{20, 40, 1, 1, image.Pt(20, 20), 0, 10},
		{30, 30, 5, 5, image.Pt(30, 30), 0, 0},
		{40, 20, 2, 1, image.Pt(40, 20), 0, 0},
		{40, 30, 1, 2, image.Pt(15, 30), 12, 0},
	} {
		got := cropAspect(gradient(c.iw, c.ih), c.w, c.h)
		if got.Rect != (image.Rectangle{Max: c.want}) {
			t.Errorf("%dx%d to %d:%d: rect %v, want size %v at the origin", c.iw, c.ih, c.w, c.h, got.Rect, c.want)
			continue
		}
		if p := got.RGBAAt(0, 0); int(p.R) != c.wantX0 || int(p.G) != c.wantY0 {
			t.Errorf("%dx%d to %d:%d: origin shows source pixel (%d, %d), want (%d, %d)", c.iw, c.ih, c.w, c.h, p.R, p.G, c.wantX0, c.wantY0)
		}
		last := got.RGBAAt(c.want.X-1, c.want.Y-1)
		if int(last.R) != c.wantX0+c.want.X-1 || int(last.G) != c.wantY0+c.want.Y-1 {
			t.Errorf("%dx%d to %d:%d: last pixel shows (%d, %d)", c.iw, c.ih, c.w, c.h, last.R, last.G)
		}
	}
}

func TestViewMirror(t *testing.T) {
	src := gradient(6, 4)
	got := Settings{Fit: Stretch, Mirror: true}.view(src, 1, 1)
	if got.Rect != src.Rect {
		t.Fatalf("rect %v", got.Rect)
	}
	for y := range 4 {
		for x := range 6 {
			if p := got.RGBAAt(x, y); int(p.R) != 5-x || int(p.G) != y || p.B != 7 || p.A != 255 {
				t.Fatalf("mirrored (%d, %d) = %v, want source (%d, %d)", x, y, p, 5-x, y)
			}
		}
	}
	if src.RGBAAt(0, 0).R != 0 {
		t.Fatal("mirroring changed the source frame")
	}
	// Crop then mirror: the square's columns reversed.
	sq := Settings{Fit: Crop, Mirror: true}.view(src, 1, 1)
	if sq.Rect.Size() != image.Pt(4, 4) || sq.RGBAAt(0, 0).R != 4 || sq.RGBAAt(3, 0).R != 1 {
		t.Fatalf("crop+mirror: rect %v, first column from x=%d", sq.Rect, sq.RGBAAt(0, 0).R)
	}
	// No mirror, stretch: the frame itself.
	if (Settings{Fit: Stretch}).view(src, 1, 1) != src {
		t.Fatal("an unchanged view copied the frame")
	}
}
