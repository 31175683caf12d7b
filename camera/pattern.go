package camera

import (
	"context"
	"image"
	"math"
	"sync/atomic"
)

// Pattern is a synthetic moving test pattern, for demos and tests without
// any file or device: a scrolling colour gradient with a checkered square
// and a white disc moving across it. Frame n is the same on every run.
type Pattern struct {
	info   Info
	pace   *pacer
	n      int          // the frame Next draws
	seekTo atomic.Int64 // 1 + the frame to draw next, 0 for none (Goto)
}

// NewPattern returns the test pattern at opt.Size (default 320x240), paced
// at opt.FPS (default 30) when opt.Realtime.
func NewPattern(opt Options) *Pattern {
	size := opt.Size
	if size.X <= 0 || size.Y <= 0 {
		size = image.Pt(320, 240)
	}
	p := &Pattern{info: Info{Name: "test pattern", Kind: KindPattern, FPS: opt.fps(30), Size: size, Paced: opt.Realtime}}
	if opt.Realtime {
		p.pace = newPacer(p.info.FPS)
	}
	return p
}

// Info describes the pattern.
func (p *Pattern) Info() Info { return p.info }

// Goto makes frame pos (at least 0) the next one.
func (p *Pattern) Goto(pos int) { p.seekTo.Store(int64(max(pos, 0)) + 1) }

// Next draws the next frame.
func (p *Pattern) Next(ctx context.Context) (Frame, error) {
	if err := p.pace.wait(ctx); err != nil {
		return Frame{}, err
	}
	if to := p.seekTo.Swap(0); to > 0 {
		p.n = int(to - 1)
	}
	f := Frame{Image: PatternFrame(p.info.Size, p.n), Pos: p.n}
	p.n++
	return f, nil
}

// Close does nothing: the pattern holds no resources.
func (p *Pattern) Close() error { return nil }

// PatternFrame draws frame n of the test pattern at the given size.
func PatternFrame(size image.Point, n int) *image.RGBA {
	w, h := size.X, size.Y
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	t := float64(n)
	// The square follows a Lissajous path; the disc crosses left to right.
	side := max(min(w, h)/3, 1)
	sx := int(float64(w-side) * (0.5 + 0.5*math.Sin(2*math.Pi*t/90)))
	sy := int(float64(h-side) * (0.5 + 0.5*math.Cos(2*math.Pi*t/60)))
	r := float64(min(w, h)) / 8
	cx := math.Mod(t*3, float64(w)+2*r) - r
	cy := float64(h) * 0.7
	check := max(side/6, 1)
	for y := range h {
		row := img.Pix[y*img.Stride:]
		for x := range w {
			p := row[4*x : 4*x+4]
			p[0] = uint8((x*255/max(w-1, 1) + 2*n) & 0xff)
			p[1] = uint8(y * 255 / max(h-1, 1))
			p[2] = uint8(((x+y)/2 + n) & 0xff)
			p[3] = 0xff
			if x >= sx && x < sx+side && y >= sy && y < sy+side {
				v := uint8(0)
				if ((x-sx)/check+(y-sy)/check)%2 == 0 {
					v = 0xff
				}
				p[0], p[1], p[2] = v, v, v
			}
			if dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy; dx*dx+dy*dy <= r*r {
				p[0], p[1], p[2] = 0xff, 0xff, 0xff
			}
		}
	}
	return img
}
