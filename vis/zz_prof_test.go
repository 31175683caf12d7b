package vis

import (
	"context"
	"testing"
)

func BenchmarkZZScoreCAM(b *testing.B) {
	r := tinyDarknetRequest(b)
	r.CamLayer = "relu15"
	for b.Loop() {
		if _, err := (ScoreCAM{}).Compute(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
}
