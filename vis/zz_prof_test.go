package vis

import (
	"context"
	"testing"
	"time"
)

func BenchmarkZZBatch(b *testing.B) {
	r := tinyDarknetRequest(b)
	r.Patch, r.Stride = 32, 24 // 9x9 = 81 copies
	for _, batch := range []int{1, 2, 4, 8, 16} {
		r.Batch = batch
		t0 := time.Now()
		if _, err := (Occlusion{}).Compute(context.Background(), r); err != nil {
			b.Fatal(err)
		}
		b.Logf("batch %d (size %d): %v per copy; forward %v", batch, r.batchSize(81), time.Since(t0)/82, forwardTime(b, r))
	}
}
