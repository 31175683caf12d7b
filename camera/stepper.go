package camera

import (
	"context"
	"fmt"
	"sync"
)

// stepper is the position of a source that steps through n numbered
// images (Folder, MNIST): Goto jumps, and in manual mode Next holds each
// image until the next Goto. Its mutex also guards its owner's own fields.
type stepper struct {
	n    int
	wake chan struct{} // a Goto happened
	mu   sync.Mutex    // guards the fields below
	next int           // index of the image Next reads
	// held is set in manual mode once the current image was delivered.
	held   bool
	closed bool
}

func newStepper(n int) stepper { return stepper{n: n, wake: make(chan struct{}, 1)} }

// wrap maps any index onto 0..n-1, looping both ways.
func (s *stepper) wrap(i int) int { return ((i % s.n) + s.n) % s.n }

// jump makes image pos (wrapped) the next one and wakes a waiting Next;
// also, under the lock, runs locked (nil for none) with the old position.
func (s *stepper) jump(pos int, locked func()) {
	s.mu.Lock()
	if locked != nil {
		locked()
	}
	s.next, s.held = s.wrap(pos), false
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// ready waits until an image may be delivered: not held, or ctx is done;
// it fails with ErrClosed (named by what) once the source is closed.
func (s *stepper) ready(ctx context.Context, what string) error {
	for {
		s.mu.Lock()
		closed, held := s.closed, s.held
		s.mu.Unlock()
		if closed {
			return fmt.Errorf("%s: %w", what, ErrClosed)
		}
		if !held {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.wake:
		}
	}
}

// close marks the source closed.
func (s *stepper) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}
