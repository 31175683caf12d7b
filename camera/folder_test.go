package camera

import (
	"context"
	"errors"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// testFolder writes img1.png (red), img2.jpg (green), img3.png (corrupt),
// img10.png (blue) and notes.txt.
func testFolder(t *testing.T) string {
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "img1.png"), solid(8, 6, color.RGBA{255, 0, 0, 255}))
	writeJPEG(t, filepath.Join(dir, "img2.jpg"), solid(8, 6, color.RGBA{0, 255, 0, 255}))
	os.WriteFile(filepath.Join(dir, "img3.png"), []byte("\x89PNG\r\n\x1a\n truncated"), 0o644)
	writePNG(t, filepath.Join(dir, "img10.png"), solid(4, 4, color.RGBA{0, 0, 255, 255}))
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not an image"), 0o644)
	return dir
}

// dominant names the strongest channel of a frame's first pixel.
func dominant(f Frame) string {
	c := f.Image.RGBAAt(0, 0)
	switch {
	case c.R > 200 && c.G < 60 && c.B < 60:
		return "red"
	case c.G > 200 && c.R < 60 && c.B < 60:
		return "green"
	case c.B > 200 && c.R < 60 && c.G < 60:
		return "blue"
	}
	return "?"
}

func TestFolderAdvancesSkipsAndReports(t *testing.T) {
	dir := testFolder(t)
	f, err := OpenFolder(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	for _, p := range f.Files() {
		names = append(names, filepath.Base(p))
	}
	if want := []string{"img1.png", "img2.jpg", "img3.png", "img10.png"}; !slices.Equal(names, want) {
		t.Fatalf("files %v, want %v (natural order, images only)", names, want)
	}
	if info := f.Info(); info.Kind != KindFolder || info.Frames != 4 || info.Paced {
		t.Fatalf("info %+v", info)
	}
	ctx := context.Background()
	var got []string
	skipped := 0
	for range 8 {
		fr, err := f.Next(ctx)
		if err != nil {
			if !errors.Is(err, ErrSkipped) || !strings.Contains(err.Error(), "img3.png") {
				t.Fatalf("error %v, want img3.png skipped", err)
			}
			skipped++
			continue
		}
		got = append(got, dominant(fr))
	}
	// The corrupt file is reported once, then skipped; the folder loops.
	if skipped != 1 {
		t.Errorf("corrupt file reported %d times, want once", skipped)
	}
	if want := []string{"red", "green", "blue", "red", "green", "blue", "red"}; !slices.Equal(got, want) {
		t.Errorf("frames %v, want %v", got, want)
	}
}

func TestFolderManualGoto(t *testing.T) {
	f, err := OpenFolder(testFolder(t), Options{Manual: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	next := func() Frame {
		t.Helper()
		for {
			fr, err := f.Next(ctx)
			if errors.Is(err, ErrSkipped) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			return fr
		}
	}
	if fr := next(); dominant(fr) != "red" || fr.Pos != 0 {
		t.Fatalf("first image %s at %d", dominant(fr), fr.Pos)
	}
	// Held: Next waits for a Goto.
	wctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	if _, err := f.Next(wctx); err != context.DeadlineExceeded {
		t.Fatalf("manual folder did not hold its image: %v", err)
	}
	cancel()
	// A Goto from another goroutine wakes a waiting Next.
	go func() {
		time.Sleep(10 * time.Millisecond)
		f.Goto(1)
	}()
	if fr := next(); dominant(fr) != "green" || fr.Pos != 1 {
		t.Fatalf("after Goto(1): %s at %d", dominant(fr), fr.Pos)
	}
	// Forward past the corrupt file, then back past it.
	f.Goto(2)
	if fr := next(); dominant(fr) != "blue" || fr.Pos != 3 {
		t.Fatalf("after Goto(2): %s at %d, want the corrupt img3 skipped to img10", dominant(fr), fr.Pos)
	}
	f.Goto(2)
	if fr := next(); dominant(fr) != "green" || fr.Pos != 1 {
		t.Fatalf("back to 2 from 3: %s at %d, want img3 skipped back to img2", dominant(fr), fr.Pos)
	}
	f.Goto(-1) // wraps to the last
	if fr := next(); dominant(fr) != "blue" {
		t.Fatalf("Goto(-1): %s, want the last image", dominant(fr))
	}
}

func TestFolderErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenFolder(dir, Options{}); err == nil || !strings.Contains(err.Error(), "has no images") {
		t.Errorf("empty folder: %v", err)
	}
	if _, err := OpenFolder(filepath.Join(dir, "nope"), Options{}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing folder: %v", err)
	}
	// Only unreadable images: each reported once, then a plain error.
	os.WriteFile(filepath.Join(dir, "a.png"), []byte("junk"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.jpg"), nil, 0o644)
	f, err := OpenFolder(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := f.Next(context.Background()); !errors.Is(err, ErrSkipped) {
			t.Fatalf("call %d: %v, want a skipped file", i, err)
		}
	}
	if _, err := f.Next(context.Background()); err == nil || errors.Is(err, ErrSkipped) || !strings.Contains(err.Error(), "none of its 2 images") {
		t.Fatalf("all unreadable: %v", err)
	}
}

func TestNaturalCompare(t *testing.T) {
	names := []string{"b.png", "img10.png", "img2.png", "a.png", "img1.png", "img01.png", "x100y2", "x100y10"}
	slices.SortFunc(names, naturalCompare)
	want := []string{"a.png", "b.png", "img01.png", "img1.png", "img2.png", "img10.png", "x100y2", "x100y10"}
	if !slices.Equal(names, want) {
		t.Fatalf("%v, want %v", names, want)
	}
}
