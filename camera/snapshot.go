package camera

import (
	"sync/atomic"
	"time"

	"github.com/deepscope/deepscope/model"
)

// Snapshot is one processed frame: the picture the network saw and every
// layer's activations. Snapshots are reference counted: the pipeline holds
// one reference to the current snapshot and hands out more with
// Pipeline.Snapshot; whoever holds a reference calls Release when done.
// The buffers go back to the model's pool only when the last reference is
// released, so a slow UI, or a background job running a backward pass on
// the snapshot's activations, never sees them overwritten.
type Snapshot struct {
	// Seq numbers the snapshots of a pipeline from 1.
	Seq uint64
	// Frame is the picture fed to the network (cropped and mirrored per
	// Settings), before resizing to the input size.
	Frame Frame
	// Source describes the source the frame came from.
	Source Info
	// Settings are the input controls the frame was processed with.
	Settings Settings
	// Input is the network input tensor, 1 x C x H x W.
	Input *model.Tensor
	// Times are the stage times of this frame.
	Times StageTimes
	// Done is when the snapshot was published.
	Done time.Time

	acts    *model.Activations
	refs    atomic.Int32
	release func(*Snapshot)
}

// Get returns the output of the layer (or graph input) with the given
// name. The tensor is valid until the snapshot is released.
func (s *Snapshot) Get(layer string) (*model.Tensor, error) {
	return s.acts.Get(layer)
}

// Activations returns the forward pass, for Model.Backward. It is valid
// until the snapshot is released.
func (s *Snapshot) Activations() *model.Activations { return s.acts }

// Retain adds a reference and returns s.
func (s *Snapshot) Retain() *Snapshot {
	if s.refs.Add(1) <= 1 {
		panic("camera: Retain of a released Snapshot")
	}
	return s
}

// Release drops a reference; the last one returns the buffers to their
// pools. The snapshot must not be used after its holder released it.
func (s *Snapshot) Release() {
	switch n := s.refs.Add(-1); {
	case n == 0:
		s.acts.Release()
		if s.release != nil {
			s.release(s)
		}
	case n < 0:
		panic("camera: Snapshot released more often than retained")
	}
}
