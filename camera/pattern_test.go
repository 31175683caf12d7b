package camera

import (
	"bytes"
	"context"
	"image"
	"testing"
	"time"
)

func TestPatternDeterministicAndMoving(t *testing.T) {
	ctx := context.Background()
	a, b := NewPattern(Options{}), NewPattern(Options{Size: image.Pt(320, 240)})
	if got := a.Info(); got.Kind != KindPattern || got.Size != image.Pt(320, 240) || got.Paced || got.FPS != 30 {
		t.Fatalf("info %+v", got)
	}
	var prev []byte
	for i := range 5 {
		fa, err := a.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fb, _ := b.Next(ctx)
		if fa.Pos != i || fb.Pos != i {
			t.Fatalf("positions %d, %d, want %d", fa.Pos, fb.Pos, i)
		}
		if !bytes.Equal(fa.Image.Pix, fb.Image.Pix) {
			t.Fatalf("frame %d differs between two patterns", i)
		}
		if !fa.Image.Opaque() || fa.Image.Rect != image.Rect(0, 0, 320, 240) {
			t.Fatalf("frame %d: rect %v opaque %v", i, fa.Image.Rect, fa.Image.Opaque())
		}
		if prev != nil && bytes.Equal(prev, fa.Image.Pix) {
			t.Fatalf("frame %d equals frame %d: the pattern does not move", i, i-1)
		}
		prev = fa.Image.Pix
	}
	// Goto draws exactly the frame asked for.
	a.Goto(2)
	f, _ := a.Next(ctx)
	if f.Pos != 2 || !bytes.Equal(f.Image.Pix, PatternFrame(image.Pt(320, 240), 2).Pix) {
		t.Fatalf("after Goto(2): frame %d", f.Pos)
	}
	if f, _ := a.Next(ctx); f.Pos != 3 {
		t.Fatalf("after Goto(2) and one frame: frame %d, want 3", f.Pos)
	}
}

func TestPatternRealtimePacing(t *testing.T) {
	p := NewPattern(Options{Realtime: true, FPS: 100, Size: image.Pt(16, 16)})
	if !p.Info().Paced {
		t.Fatal("a real-time pattern must be paced")
	}
	start := time.Now()
	for range 6 {
		if _, err := p.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// 6 frames at 100 fps: the first at once, then 5 periods of 10 ms.
	if d := time.Since(start); d < 45*time.Millisecond {
		t.Fatalf("6 frames at 100 fps took %v, want >= 50 ms", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Next(ctx); err != context.Canceled {
		t.Fatalf("Next with a cancelled context: %v", err)
	}
}
