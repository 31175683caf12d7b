package model

import "fmt"

// Scratch hands out float32 buffers for one run of the graph and takes them
// all back at once with reset. A Scratch reused for the next frame of the
// same shape serves every request from its free lists, so a steady stream
// does not allocate. A Scratch is used by one goroutine at a time.
type Scratch struct {
	free map[int][][]float32
	used [][]float32
	held int // values in all buffers made, used or free
}

// Allocation limits, so that a hostile model's shape arithmetic (huge pads,
// strides or broadcasts) fails with an error naming the node (runNode
// recovers the panic) instead of exhausting memory: maxBuffer bounds one
// buffer (4 GiB of float32), maxScratch all the buffers of one Scratch.
const (
	maxBuffer  = 1 << 30
	maxScratch = 1 << 31
)

// allocError is the panic value of an allocation beyond the limits.
type allocError struct{ n, limit int }

func (e allocError) Error() string {
	return fmt.Sprintf("a buffer of %d values exceeds the limit of %d (is the model corrupt?)", e.n, e.limit)
}

// checkAlloc panics with an allocError when n values cannot be allocated.
func checkAlloc(n int) {
	if n < 0 || n > maxBuffer {
		panic(allocError{n, maxBuffer})
	}
}

func newScratch() *Scratch { return &Scratch{free: map[int][][]float32{}} }

// Floats returns a zeroed buffer of n values, valid until reset.
func (s *Scratch) Floats(n int) []float32 {
	b := s.take(n)
	clear(b)
	return b
}

// FloatsNoZero is Floats without clearing: for buffers the caller overwrites
// entirely.
func (s *Scratch) FloatsNoZero(n int) []float32 { return s.take(n) }

func (s *Scratch) take(n int) []float32 {
	checkAlloc(n)
	if s == nil {
		return make([]float32, n)
	}
	var b []float32
	if l := s.free[n]; len(l) > 0 {
		b = l[len(l)-1]
		s.free[n] = l[:len(l)-1]
	} else {
		if s.held+n > maxScratch {
			// Buffers of other sizes (an earlier input shape) go first.
			for _, l := range s.free {
				for _, f := range l {
					s.held -= len(f)
				}
			}
			clear(s.free)
			if s.held+n > maxScratch {
				panic(allocError{s.held + n, maxScratch})
			}
		}
		s.held += n
		b = make([]float32, n)
	}
	s.used = append(s.used, b)
	return b
}

// Tensor returns a zeroed float32 tensor of the given shape, valid until reset.
func (s *Scratch) Tensor(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: s.Floats(NumElements(shape))}
}

// TensorNoZero is Tensor without clearing the buffer.
func (s *Scratch) TensorNoZero(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: s.FloatsNoZero(NumElements(shape))}
}

// reset makes every buffer handed out since the last reset available again.
func (s *Scratch) reset() {
	for _, b := range s.used {
		s.free[len(b)] = append(s.free[len(b)], b)
	}
	clear(s.used)
	s.used = s.used[:0]
}
