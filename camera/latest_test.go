package camera

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestLatestKeepsNewest(t *testing.T) {
	l := NewLatest[int]()
	if _, ok := l.TryTake(); ok {
		t.Fatal("a new mailbox has a value")
	}
	for i := 1; i <= 5; i++ {
		old, dropped := l.Put(i)
		if dropped != (i > 1) || (dropped && old != i-1) {
			t.Fatalf("Put(%d) dropped %d, %v", i, old, dropped)
		}
	}
	if v, ok := l.TryTake(); !ok || v != 5 {
		t.Fatalf("took %d, %v; want the newest, 5", v, ok)
	}
	if _, ok := l.TryTake(); ok {
		t.Fatal("a value was taken twice")
	}
	if puts, dropped := l.Counts(); puts != 5 || dropped != 4 {
		t.Fatalf("counts %d put, %d dropped; want 5, 4", puts, dropped)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := l.Take(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Take on an empty mailbox: %v", err)
	}
	go func() {
		time.Sleep(5 * time.Millisecond)
		l.Put(7)
	}()
	if v, err := l.Take(context.Background()); err != nil || v != 7 {
		t.Fatalf("Take: %d, %v", v, err)
	}
}

func TestLatestWaitEmpty(t *testing.T) {
	l := NewLatest[int]()
	if err := l.WaitEmpty(context.Background()); err != nil {
		t.Fatal(err)
	}
	l.Put(1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := l.WaitEmpty(ctx); err != context.DeadlineExceeded {
		t.Fatalf("WaitEmpty on a full mailbox: %v", err)
	}
	go func() {
		time.Sleep(5 * time.Millisecond)
		l.TryTake()
	}()
	if err := l.WaitEmpty(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A fast producer and a slow consumer: memory stays at about one frame
// whatever the producer makes, the consumer always gets the newest frame,
// and every frame is either taken or counted as dropped.
func TestLatestSlowConsumer(t *testing.T) {
	const frameBytes = 1 << 20
	const frames = 300 // 300 MB if they queued up
	l := NewLatest[[]byte]()
	var (
		mu     sync.Mutex
		newest int
	)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.HeapAlloc
	var peak uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= frames; i++ {
			b := make([]byte, frameBytes)
			b[0], b[1] = byte(i), byte(i>>8)
			mu.Lock()
			l.Put(b)
			newest = i
			mu.Unlock()
			if i%50 == 0 {
				runtime.GC()
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapAlloc)
			}
		}
	}()
	taken := 0
	for {
		select {
		case <-done:
		case <-time.After(2 * time.Millisecond): // the slow consumer
			mu.Lock()
			b, ok := l.TryTake()
			want := newest
			mu.Unlock()
			if ok {
				taken++
				if got := int(b[0]) | int(b[1])<<8; got != want {
					t.Fatalf("took frame %d while frame %d was the newest", got, want)
				}
			}
			continue
		}
		break
	}
	if _, ok := l.TryTake(); ok {
		taken++
	}
	puts, dropped := l.Counts()
	if puts != frames || uint64(taken)+dropped != frames {
		t.Fatalf("%d put, %d taken, %d dropped: frames went missing", puts, taken, dropped)
	}
	if dropped == 0 {
		t.Fatal("the slow consumer dropped nothing")
	}
	// At most the frame in the slot, one being made and one being read.
	if grew := int64(peak) - int64(before); grew > 8*frameBytes {
		t.Fatalf("heap grew by %d MB while producing %d frames of 1 MB", grew>>20, frames)
	}
}
