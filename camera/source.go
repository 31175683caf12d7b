// Package camera feeds the network: frame sources (webcam, video file,
// folder of images, single image, synthetic test pattern), the input
// controls of the explorer (freeze, crop or stretch, mirror, step, switch
// source) and the live pipeline that turns frames into activation
// snapshots, every layer of the network computed for each frame.
package camera

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"time"
)

// Kind is the type of a source.
type Kind string

// The kinds of source.
const (
	KindWebcam  Kind = "webcam"
	KindVideo   Kind = "video"
	KindFolder  Kind = "folder"
	KindStill   Kind = "still"
	KindPattern Kind = "pattern"
)

// Frame is one picture from a source. Its image is shared (a still source
// hands out the same image on every call, the pipeline keeps frames for the
// UI): treat it as read-only.
type Frame struct {
	// Image holds the RGB pixels, alpha 255, with Rect.Min at (0, 0).
	Image *image.RGBA
	// Pos is the frame's position in its source: the frame number of a
	// video or pattern, the file index in a folder; 0 for webcams and
	// still images.
	Pos int
	// Name is the file the frame comes from ("" for webcams and patterns).
	Name string
}

// Info describes a source.
type Info struct {
	Name string // for people: "webcam 0", "bottle-detection.mp4", "photos/"
	Kind Kind
	// FPS is the frame rate: a camera's or a video file's own, the pace
	// of the pattern or of a slideshow; 0 for images not played in real
	// time.
	FPS float64
	// Size is the frame size; zero when it varies (a folder).
	Size image.Point
	// Frames is the number of frames or files, 0 when unbounded or unknown.
	Frames int
	// Paced sources deliver frames on their own clock (webcams, files
	// played in real time): a consumer that is too slow misses frames.
	// Unpaced sources deliver a frame whenever asked, so a consumer asks
	// only when it is ready for one.
	Paced bool
	// Live sources show the world now: a webcam keeps capturing even while
	// the picture is frozen, so that unfreezing shows the present.
	Live bool
}

// String describes the source in one line: "clip.mp4 (video, 640x360,
// 29.83 fps, 1189 frames)".
func (i Info) String() string {
	s := fmt.Sprintf("%s (%s", i.Name, i.Kind)
	if i.Size != (image.Point{}) {
		s += fmt.Sprintf(", %dx%d", i.Size.X, i.Size.Y)
	}
	if i.FPS > 0 {
		s += fmt.Sprintf(", %.4g fps", i.FPS)
	}
	if i.Frames > 1 {
		unit := "frames"
		if i.Kind == KindFolder {
			unit = "images"
		}
		s += fmt.Sprintf(", %d %s", i.Frames, unit)
	}
	return s + ")"
}

// Source produces frames. Next and Close are called from one goroutine at
// a time (the pipeline's reader); Info is safe to call at any time.
type Source interface {
	// Next blocks until the next frame is available, or until ctx is done
	// (then it returns ctx's error). An error does not end the source: the
	// following call tries again (a video that broke mid-stream starts
	// over, a folder moves past an unreadable file).
	Next(ctx context.Context) (Frame, error)
	Info() Info
	// Close releases the device or file. Next must not be called after.
	Close() error
}

// Stepper is a source whose frames the user can step through: a folder's
// images, a video's or the pattern's frames.
type Stepper interface {
	// Goto makes the frame at position pos (as in Frame.Pos, wrapped
	// around the ends when the source has any) the one Next returns next.
	// It may be called concurrently with Next.
	Goto(pos int)
}

// Options tune how file sources and the test pattern deliver frames.
// The zero value reads files as fast as they are taken, advancing a folder
// on every frame.
type Options struct {
	// Realtime plays videos at their own frame rate, the test pattern and
	// folder slideshows at FPS. Otherwise frames come as fast as they are
	// taken (a benchmark of the live path).
	Realtime bool
	// Manual holds each image of a folder, and a still image, until Goto
	// moves on: the explorer's mode. Otherwise a folder advances on every
	// frame, looping, and a still image repeats.
	Manual bool
	// FPS is the frame rate of the pattern (default 30) and of slideshows
	// (default 1) when Realtime.
	FPS float64
	// Size is the frame size of the test pattern (default 320x240).
	Size image.Point
}

func (o Options) fps(def float64) float64 {
	if o.FPS > 0 {
		return o.FPS
	}
	return def
}

// Errors sources wrap, for errors.Is.
var (
	// ErrNoDevice: the webcam does not exist or cannot be opened.
	ErrNoDevice = errors.New("no such camera")
	// ErrSkipped: the frame could not be read and was skipped (an
	// unreadable file in a folder); the source itself is fine.
	ErrSkipped = errors.New("skipped")
	// ErrClosed: the source was closed.
	ErrClosed = errors.New("source closed")
)

// toRGBA returns img as an *image.RGBA with opaque pixels and Rect.Min at
// the origin, converting (compositing over black) when needed.
func toRGBA(img image.Image) *image.RGBA {
	b := img.Bounds()
	if m, ok := img.(*image.RGBA); ok && b.Min == (image.Point{}) && m.Opaque() {
		return m
	}
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	if o, ok := img.(interface{ Opaque() bool }); !ok || !o.Opaque() {
		draw.Draw(out, out.Rect, image.Black, image.Point{}, draw.Src)
	}
	draw.Draw(out, out.Rect, img, b.Min, draw.Over)
	return out
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// pacer spaces frames one period apart on the wall clock, for sources
// played in real time.
type pacer struct {
	period time.Duration
	next   time.Time
}

func newPacer(fps float64) *pacer {
	if !(fps > 0) {
		return nil
	}
	return &pacer{period: time.Duration(float64(time.Second) / fps)}
}

// wait sleeps until the next frame is due. After a pause (the consumer
// froze the picture, the machine was busy) the clock restarts instead of
// catching up in a burst. A nil pacer never waits.
func (p *pacer) wait(ctx context.Context) error {
	if p == nil {
		return ctx.Err()
	}
	now := time.Now()
	if p.next.IsZero() || now.Sub(p.next) > p.period {
		p.next = now
	}
	if err := sleep(ctx, time.Until(p.next)); err != nil {
		return err
	}
	p.next = p.next.Add(p.period)
	return nil
}
