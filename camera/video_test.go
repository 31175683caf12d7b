package camera

import (
	"context"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestVideoPlaysLoopsAndSteps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clip.avi")
	writeVideo(t, path, 6, 64, 48, 10)
	v, err := OpenVideo(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	info := v.Info()
	if info.Kind != KindVideo || info.Size != image.Pt(64, 48) || info.FPS != 10 || info.Frames != 6 || info.Paced {
		t.Fatalf("info %+v", info)
	}
	ctx := context.Background()
	// Two loops: frame numbers from the pixels and from Pos agree.
	for i := range 12 {
		f, err := v.Next(ctx)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if f.Pos != i%6 || frameNumber(f.Image) != i%6 || !f.Image.Opaque() {
			t.Fatalf("read %d: Pos %d, pixels say frame %d", i, f.Pos, frameNumber(f.Image))
		}
	}
	for _, c := range []struct{ to, want int }{{4, 4}, {1, 1}, {-1, 5}, {7, 1}} {
		v.Goto(c.to)
		f, err := v.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if f.Pos != c.want || frameNumber(f.Image) != c.want {
			t.Fatalf("Goto(%d): Pos %d, pixels %d, want %d", c.to, f.Pos, frameNumber(f.Image), c.want)
		}
	}
}

func TestVideoRealtime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clip.avi")
	writeVideo(t, path, 4, 32, 32, 50)
	v, err := OpenVideo(path, Options{Realtime: true})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if !v.Info().Paced {
		t.Fatal("a real-time video must be paced")
	}
	start := time.Now()
	for range 6 { // across the loop
		if _, err := v.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Fatalf("6 frames at 50 fps took %v, want >= 100 ms", d)
	}
}

// openCutVideo writes a 10-frame video, cuts the file in half (its header
// still promises 10 frames) and opens it.
func openCutVideo(t *testing.T) *Video {
	t.Helper()
	dir := t.TempDir()
	full := filepath.Join(dir, "full.avi")
	writeVideo(t, full, 30, 64, 48, 10)
	data, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.avi")
	if err := os.WriteFile(cut, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := OpenVideo(cut, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A video cut short mid-stream (its header promises more frames than it
// has) gives one error per pass and keeps playing.
func TestVideoBrokenMidStream(t *testing.T) {
	v := openCutVideo(t)
	defer v.Close()
	ctx := context.Background()
	var errs []error
	frames, restarts := 0, 0
	last := -1
	for range 60 {
		f, err := v.Next(ctx)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		frames++
		if f.Pos <= last {
			restarts++
		}
		last = f.Pos
	}
	if restarts < 1 || frames < 30 {
		t.Fatalf("%d frames, %d restarts: the broken video did not keep playing (errors %v)", frames, restarts, errs)
	}
	if v.Info().Frames > 0 && len(errs) == 0 {
		t.Fatalf("a video stopping at frame %d of %d gave no error", last, v.Info().Frames)
	}
	for _, err := range errs {
		if !strings.Contains(err.Error(), "cut.avi") {
			t.Errorf("error %q does not name the file", err)
		}
	}
}

func TestVideoErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.mp4")
	os.WriteFile(junk, []byte("this is not a video file, just some text"), 0o644)
	for _, c := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.mp4"), "does not exist"},
		{junk, "junk.mp4"},
		{dir, "is a directory"},
	} {
		start := time.Now()
		_, err := OpenVideo(c.path, Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("OpenVideo(%s): %v, want an error containing %q", c.path, err, c.want)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("OpenVideo(%s) took %v", c.path, d)
		}
	}
}

func TestSharedVideo(t *testing.T) {
	path := sharedFile(t, "video/bottle-detection.mp4")
	v, err := OpenVideo(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if info := v.Info(); info.Size != image.Pt(640, 360) || info.FPS < 29 || info.FPS > 31 {
		t.Fatalf("info %+v", info)
	}
	for i := range 3 {
		f, err := v.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if f.Pos != i || f.Image.Rect != image.Rect(0, 0, 640, 360) {
			t.Fatalf("frame %d: Pos %d rect %v", i, f.Pos, f.Image.Rect)
		}
	}
}

// The pipeline plays a damaged video on, reporting the damage.
func TestPipelineBrokenVideo(t *testing.T) {
	v := openCutVideo(t)
	var lg logger
	p, _, _, stop := start(t, Config{Source: v, Log: lg.log})
	waitFor(t, "40 frames", frames(p, 40))
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	if st.Errors < 1 || st.Fallbacks != 0 || !lg.has("cut.avi: stopped at frame") {
		t.Fatalf("stats %+v, messages %q", st, lg.msgs)
	}
}
