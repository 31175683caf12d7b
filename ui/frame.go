package ui

import (
	"image"
	"sync/atomic"
	"time"

	"github.com/deepscope/deepscope/camera"
	"github.com/deepscope/deepscope/model"
)

// frame is one processed picture as the panes draw it: the network input
// and every layer's activations. It is reference counted like the camera
// snapshot it usually wraps: the application holds the newest one, each
// background job its own.
type frame struct {
	seq   uint64
	input *model.Tensor      // 1 x C x H x W
	acts  *model.Activations // every layer
	pos   int                // position in the source (frame number, file index)
	name  string             // the file it came from, if any
	times camera.StageTimes
	done  time.Time // when it was computed

	refs    atomic.Int32
	release func()
}

// newFrame returns a frame with one reference; release is called when the
// last one is dropped.
func newFrame(seq uint64, input *model.Tensor, acts *model.Activations, release func()) *frame {
	f := &frame{seq: seq, input: input, acts: acts, release: release, done: time.Now()}
	f.refs.Store(1)
	return f
}

// snapshotFrame wraps a pipeline snapshot (taking over its reference).
func snapshotFrame(s *camera.Snapshot) *frame {
	f := newFrame(s.Seq, s.Input, s.Activations(), s.Release)
	f.pos, f.name, f.times, f.done = s.Frame.Pos, s.Frame.Name, s.Times, s.Done
	return f
}

// retain adds a reference; nil stays nil.
func (f *frame) retain() *frame {
	if f != nil {
		f.refs.Add(1)
	}
	return f
}

// drop releases a reference; nil is ignored.
func (f *frame) drop() {
	if f == nil {
		return
	}
	if n := f.refs.Add(-1); n == 0 && f.release != nil {
		f.release()
	} else if n < 0 {
		panic("ui: frame dropped more often than retained")
	}
}

// get returns a layer's value.
func (f *frame) get(layer string) (*model.Tensor, error) { return f.acts.Get(layer) }

// imagePool hands out RGBA buffers round-robin from a ring of poolSize, so
// that the buffer being composed is never the one on screen (nor the one
// before it, which the GPU may still be uploading). Only one goroutine
// uses a pool.
type imagePool struct {
	bufs [poolSize]*image.RGBA
	next int
}

// poolSize is the ring size: on screen, being replaced, being composed,
// and one spare.
const poolSize = 4

// get returns the next buffer, reallocated when its size differs; its
// pixels are whatever the buffer held.
func (p *imagePool) get(w, h int) *image.RGBA {
	w, h = max(w, 1), max(h, 1)
	i := p.next
	p.next = (p.next + 1) % poolSize
	if b := p.bufs[i]; b != nil && b.Rect.Dx() == w && b.Rect.Dy() == h {
		return b
	}
	p.bufs[i] = image.NewRGBA(image.Rect(0, 0, w, h))
	return p.bufs[i]
}
