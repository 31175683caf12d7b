package ui

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Job is one background computation (a rendering, an export) with its
// progress and a context that cancelling the job ends.
type Job struct {
	ID   uint64
	Name string // for the status bar: "guided relu9:37"

	ctx         context.Context
	cancel      context.CancelFunc
	done, total atomic.Int64
	started     time.Time
	finished    chan struct{}
	err         error // set before finished is closed
}

// Context is the job's context.
func (j *Job) Context() context.Context { return j.ctx }

// Cancel asks the job to stop; it ends soon after.
func (j *Job) Cancel() { j.cancel() }

// Cancelled reports whether the job was asked to stop.
func (j *Job) Cancelled() bool { return j.ctx.Err() != nil }

// Progress records that done of total steps are done. It is safe to call
// from the job's own goroutines.
func (j *Job) Progress(done, total int) {
	j.total.Store(int64(total))
	j.done.Store(int64(done))
}

// Fraction returns the share of the job done, 0 when unknown.
func (j *Job) Fraction() float64 {
	t := j.total.Load()
	if t <= 0 {
		return 0
	}
	return float64(j.done.Load()) / float64(t)
}

// Done is closed when the job has returned.
func (j *Job) Done() <-chan struct{} { return j.finished }

// Err returns the job's error once Done is closed.
func (j *Job) Err() error {
	<-j.finished
	return j.err
}

// Status describes a running job for the status bar.
func (j *Job) Status() string {
	s := j.Name
	if f := j.Fraction(); f > 0 {
		s += fmt.Sprintf(" %.0f%%", 100*f)
	}
	return s + fmt.Sprintf(" %.1fs", time.Since(j.started).Seconds())
}

// Jobs runs background computations on their own goroutines, one per
// slot: starting a job in a slot cancels the job running there, so that a
// rendering for a unit the user has moved away from stops instead of
// delaying the next one.
type Jobs struct {
	// OnChange, if set, is called from the job's goroutine when a job
	// ends (after its function returned).
	OnChange func(*Job)

	mu      sync.Mutex
	running map[string]*Job
	next    uint64
	wg      sync.WaitGroup
}

// Start runs fn on a new goroutine as job name in slot, cancelling the job
// running in that slot. fn gets the job for its context and progress.
func (js *Jobs) Start(slot, name string, fn func(j *Job) error) *Job {
	ctx, cancel := context.WithCancel(context.Background())
	js.mu.Lock()
	if js.running == nil {
		js.running = map[string]*Job{}
	}
	if old := js.running[slot]; old != nil {
		old.cancel()
	}
	js.next++
	j := &Job{ID: js.next, Name: name, ctx: ctx, cancel: cancel, started: time.Now(), finished: make(chan struct{})}
	js.running[slot] = j
	js.wg.Add(1)
	js.mu.Unlock()
	go func() {
		defer js.wg.Done()
		err := fn(j)
		if err == nil && ctx.Err() != nil {
			err = ctx.Err()
		}
		j.err = err
		js.mu.Lock()
		if js.running[slot] == j {
			delete(js.running, slot)
		}
		js.mu.Unlock()
		cancel()
		close(j.finished)
		if js.OnChange != nil {
			js.OnChange(j)
		}
	}()
	return j
}

// Running returns the job running in slot, or nil.
func (js *Jobs) Running(slot string) *Job {
	js.mu.Lock()
	defer js.mu.Unlock()
	return js.running[slot]
}

// All returns the running jobs.
func (js *Jobs) All() []*Job {
	js.mu.Lock()
	defer js.mu.Unlock()
	out := make([]*Job, 0, len(js.running))
	for _, j := range js.running {
		out = append(out, j)
	}
	return out
}

// Cancel cancels the job in slot, if any.
func (js *Jobs) Cancel(slot string) {
	js.mu.Lock()
	defer js.mu.Unlock()
	if j := js.running[slot]; j != nil {
		j.cancel()
	}
}

// Stop cancels every job and waits for them to end.
func (js *Jobs) Stop() {
	js.mu.Lock()
	for _, j := range js.running {
		j.cancel()
	}
	js.mu.Unlock()
	js.wg.Wait()
}
