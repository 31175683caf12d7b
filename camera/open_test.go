package camera

import (
	"errors"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "a.png"), solid(4, 4, color.RGBA{1, 2, 3, 255}))
	writeVideo(t, filepath.Join(dir, "v.avi"), 3, 16, 16, 10)
	for _, c := range []struct {
		spec string
		kind Kind
	}{
		{"pattern", KindPattern},
		{dir, KindFolder},
		{filepath.Join(dir, "a.png"), KindStill},
		{filepath.Join(dir, "v.avi"), KindVideo},
	} {
		src, err := Open(c.spec, Options{})
		if err != nil {
			t.Errorf("Open(%q): %v", c.spec, err)
			continue
		}
		if k := src.Info().Kind; k != c.kind {
			t.Errorf("Open(%q): kind %s, want %s", c.spec, k, c.kind)
		}
		src.Close()
	}
	v, err := Open(filepath.Join(dir, "v.avi"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s := v.Info().String(); s != "v.avi (video, 16x16, 10 fps, 3 frames)" {
		t.Errorf("video described as %q", s)
	}
	v.Close()
	for _, spec := range []string{"webcam:9", "/dev/video97"} {
		if _, err := Open(spec, Options{}); !errors.Is(err, ErrNoDevice) {
			t.Errorf("Open(%q): %v, want ErrNoDevice", spec, err)
		}
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("text"), 0o644)
	for _, c := range []struct{ spec, want string }{
		{"", "no source"},
		{"webcam:", "camera number"},
		{filepath.Join(dir, "missing.mp4"), "does not exist (want webcam"},
		{filepath.Join(dir, "notes.txt"), "notes.txt"},
	} {
		if _, err := Open(c.spec, Options{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%q): %v, want an error containing %q", c.spec, err, c.want)
		}
	}
}
