package vis

import (
	"sync/atomic"
	"testing"
)

// TestParallelChunks: every index of [0, n) is visited exactly once, in
// chunks of the size asked (the last one shorter), for sizes that do and
// do not divide n, and for n = 0.
func TestParallelChunks(t *testing.T) {
	for _, tc := range [][2]int{{224, 16}, {100, 7}, {5, 16}, {0, 4}, {33, 1}} {
		n, size := tc[0], tc[1]
		seen := make([]atomic.Int32, n)
		parallelChunks(n, size, func(lo, hi int) {
			if lo%size != 0 || (hi-lo != size && hi != n) || hi > n {
				t.Errorf("n %d size %d: chunk [%d, %d)", n, size, lo, hi)
			}
			for i := lo; i < hi; i++ {
				seen[i].Add(1)
			}
		})
		for i := range seen {
			if v := seen[i].Load(); v != 1 {
				t.Fatalf("n %d size %d: index %d visited %d times", n, size, i, v)
			}
		}
	}
}
