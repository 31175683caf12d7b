package vis

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Helpers that spread work over the processors.

// parallelFor runs f(0) .. f(n-1) concurrently and waits for them.
func parallelFor(n int, f func(i int)) {
	if n == 1 {
		f(0)
		return
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { f(i) })
	}
	wg.Wait()
}

// both runs f and g concurrently and waits for them.
func both(f, g func()) {
	parallelFor(2, func(i int) {
		if i == 0 {
			f()
		} else {
			g()
		}
	})
}

// parallelTasks splits [0, n) into one chunk per processor (at most n)
// and runs f on the chunks concurrently: for tasks as heavy as an image
// row each, which parallelRange would run in one chunk when there are
// fewer than 4096.
func parallelTasks(n int, f func(lo, hi int)) {
	k := max(1, min(runtime.GOMAXPROCS(0), n))
	parallelFor(k, func(i int) { f(i*n/k, (i+1)*n/k) })
}

// parallelRange splits [0, n) into one chunk per processor and runs f on
// the chunks concurrently.
func parallelRange(n int, f func(lo, hi int)) {
	k := min(runtime.GOMAXPROCS(0), max(1, n/4096))
	parallelFor(k, func(i int) { f(i*n/k, (i+1)*n/k) })
}

// parallelChunks runs f on [0, n) in chunks of size rows, which the
// calling goroutine and one more per other processor take in turn until
// none is left: uneven chunks even out, and the caller starts at once
// while the others wake up.
func parallelChunks(n, size int, f func(lo, hi int)) {
	chunks := (n + size - 1) / size
	k := max(1, min(runtime.GOMAXPROCS(0), chunks))
	var next atomic.Int64
	work := func() {
		for {
			c := int(next.Add(1)) - 1
			if c >= chunks {
				return
			}
			f(c*size, min((c+1)*size, n))
		}
	}
	parallelFor(k, func(int) { work() })
}
