package vis

import (
	"runtime"
	"testing"
	"time"
	"weak"
)

// TestBatchCacheKeepsNoModel checks that asking whether a model takes a
// batch does not keep it alive: the explorer opens model after model.
func TestBatchCacheKeepsNoModel(t *testing.T) {
	m := loadModel(t, "linear")
	acceptsBatch(m)
	key := weak.Make(m)
	if _, ok := batchable.Load(key); !ok {
		t.Fatal("acceptsBatch cached nothing")
	}
	m = nil
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		if _, ok := batchable.Load(key); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the batch cache still holds a collected model's entry")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if key.Value() != nil {
		t.Fatal("the model was not collected")
	}
}
