package camera

import (
	"context"
	"sync"
)

// Latest is a one-slot mailbox that keeps only the newest value: Put never
// blocks and replaces a value nobody took, which counts as dropped. A slow
// consumer therefore never makes a producer queue up frames: memory stays
// bounded by one value, and what the consumer takes is always the newest.
// It is safe for concurrent use; the zero value is not ready, use
// NewLatest.
type Latest[T any] struct {
	mu      sync.Mutex
	v       T
	full    bool
	puts    uint64
	dropped uint64
	ready   chan struct{} // holds a token while the slot is full
	empty   chan struct{} // holds a token while the slot is empty
}

// NewLatest returns an empty mailbox.
func NewLatest[T any]() *Latest[T] {
	l := &Latest[T]{ready: make(chan struct{}, 1), empty: make(chan struct{}, 1)}
	l.empty <- struct{}{}
	return l
}

// Put stores v, dropping the value that was waiting, if any, and returns
// that value (for recycling its buffers).
func (l *Latest[T]) Put(v T) (old T, dropped bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.puts++
	old, dropped = l.v, l.full
	if dropped {
		l.dropped++
	}
	l.v, l.full = v, true
	l.signal()
	return old, dropped
}

// signal sets the tokens to the slot's state; l.mu is held.
func (l *Latest[T]) signal() {
	set, clear := l.ready, l.empty
	if !l.full {
		set, clear = l.empty, l.ready
	}
	select {
	case <-clear:
	default:
	}
	select {
	case set <- struct{}{}:
	default:
	}
}

// TryTake returns the waiting value and empties the slot; ok is false when
// there is none.
func (l *Latest[T]) TryTake() (v T, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok = l.v, l.full
	var zero T
	l.v, l.full = zero, false
	l.signal()
	return v, ok
}

// Take waits for a value and takes it, or returns ctx's error.
func (l *Latest[T]) Take(ctx context.Context) (T, error) {
	for {
		if v, ok := l.TryTake(); ok {
			return v, nil
		}
		select {
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		case <-l.ready:
		}
	}
}

// Ready returns a channel that can be received from when a value may be
// waiting (call TryTake then: another consumer may have been faster).
func (l *Latest[T]) Ready() <-chan struct{} { return l.ready }

// WaitEmpty waits until the slot is empty (the consumer took the last
// value), or returns ctx's error: a producer that can make values on
// demand waits for this instead of making values that would be dropped.
func (l *Latest[T]) WaitEmpty(ctx context.Context) error {
	for {
		l.mu.Lock()
		full := l.full
		l.mu.Unlock()
		if !full {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-l.empty:
		}
	}
}

// Counts returns how many values were put and how many of those were
// dropped, replaced before anyone took them.
func (l *Latest[T]) Counts() (puts, dropped uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.puts, l.dropped
}
