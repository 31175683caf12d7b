package camera

import (
	"context"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStill(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "red.png")
	writePNG(t, path, solid(30, 20, color.RGBA{255, 0, 0, 255}))
	s, err := OpenStill(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if info := s.Info(); info.Kind != KindStill || info.Size != image.Pt(30, 20) || info.Name != "red.png" {
		t.Fatalf("info %+v", info)
	}
	for range 3 { // repeats
		f, err := s.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Image.RGBAAt(3, 3); got != (color.RGBA{255, 0, 0, 255}) || f.Name != path {
			t.Fatalf("frame pixel %v name %q", got, f.Name)
		}
	}

	// Manual: once, then Next waits for the context.
	m, err := OpenStill(path, Options{Manual: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := m.Next(ctx); err != context.DeadlineExceeded {
		t.Fatalf("second Next of a manual still: %v, want to wait for the context", err)
	}
}

func TestStillErrors(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "bad.jpg")
	os.WriteFile(corrupt, []byte("not a jpeg at all"), 0o644)
	for _, c := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.png"), "does not exist"},
		{corrupt, "bad.jpg"},
	} {
		_, err := OpenStill(c.path, Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("OpenStill(%s): %v, want an error containing %q", c.path, err, c.want)
		}
	}
}

func TestToRGBA(t *testing.T) {
	// A paletted image with a translucent colour composites over black.
	p := image.NewNRGBA(image.Rect(5, 5, 7, 6))
	p.SetNRGBA(5, 5, color.NRGBA{200, 100, 50, 255})
	p.SetNRGBA(6, 5, color.NRGBA{200, 100, 0, 128})
	got := toRGBA(p)
	if got.Rect != image.Rect(0, 0, 2, 1) {
		t.Fatalf("rect %v", got.Rect)
	}
	if c := got.RGBAAt(0, 0); c != (color.RGBA{200, 100, 50, 255}) {
		t.Errorf("opaque pixel %v", c)
	}
	if c := got.RGBAAt(1, 0); c.A != 255 || c.R < 99 || c.R > 101 {
		t.Errorf("translucent pixel %v, want about (100, 50, 0, 255)", c)
	}
	// An opaque RGBA at the origin is used as is.
	r := solid(2, 2, color.RGBA{1, 2, 3, 255})
	if toRGBA(r) != r {
		t.Error("toRGBA copied an image it could use as is")
	}
}
