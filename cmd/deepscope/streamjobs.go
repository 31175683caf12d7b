package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/deepscope/deepscope/camera"
	"github.com/deepscope/deepscope/model"
	"github.com/deepscope/deepscope/vis"
)

// renderJobs runs the background renderings of `stream --render-every`: on
// every tick a guided-backpropagation rendering of one unit on the latest
// snapshot, in its own goroutine, as the explorer does when the user looks
// at a unit; a rendering still running at the next tick is cancelled, and
// while a cancelled one has not returned yet no new one starts (so that a
// machine too slow for the interval does not pile them up). The unit cycles
// through the layer's channels.
type renderJobs struct {
	m     *model.Model
	p     *camera.Pipeline
	layer string
	units int

	mu                             sync.Mutex
	started, done, cancelled, fail int
	skipped                        int
	running                        bool
	lastErr                        string
	cancel                         context.CancelFunc
	wg                             sync.WaitGroup
}

// newRenderJobs renders units of layer (the logit layer when "").
func newRenderJobs(m *model.Model, p *camera.Pipeline, layer string) (*renderJobs, error) {
	if layer == "" {
		layer = vis.LogitLayer(m)
	}
	l, err := m.Layer(layer)
	if err != nil {
		return nil, fmt.Errorf("--render-every: %w", err)
	}
	if len(l.Shape) < 2 || l.Shape[1] < 1 {
		return nil, fmt.Errorf("--render-every: layer %s of shape %s has no channels to render", layer, model.ShapeString(l.Shape))
	}
	return &renderJobs{m: m, p: p, layer: layer, units: l.Shape[1]}, nil
}

// tick cancels the running rendering, if any, and starts the next one.
func (r *renderJobs) tick(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel != nil {
		r.cancel()
	}
	if r.running {
		r.skipped++
		return
	}
	s := r.p.Snapshot()
	if s == nil {
		return
	}
	x := s.Input.Clone()
	s.Release()
	unit := r.started % r.units
	r.started++
	jctx, cancel := context.WithCancel(ctx)
	r.cancel = cancel
	r.running = true
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer cancel()
		err := r.render(jctx, x, unit)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.running = false
		switch {
		case err == nil:
			r.done++
		case jctx.Err() != nil:
			r.cancelled++
		default:
			r.fail++
			r.lastErr = err.Error()
		}
	}()
}

func (r *renderJobs) render(ctx context.Context, x *model.Tensor, unit int) error {
	t, err := vis.UnitTarget(r.m, r.layer, unit, vis.AtSum, 0, 0)
	if err != nil {
		return err
	}
	mp, err := vis.Guided{}.Compute(ctx, &vis.Request{Model: r.m, Input: x, Target: t})
	if err != nil {
		return err
	}
	_, err = vis.Render(mp, nil, vis.Style{})
	return err
}

// stop cancels the running rendering and waits for it.
func (r *renderJobs) stop() {
	r.mu.Lock()
	if r.cancel != nil {
		r.cancel()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *renderJobs) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := fmt.Sprintf("renders of %s: %d started, %d done, %d cancelled, %d failed, %d ticks skipped", r.layer, r.started, r.done, r.cancelled, r.fail, r.skipped)
	if r.lastErr != "" {
		s += " (last: " + oneLine(r.lastErr) + ")"
	}
	return s
}

// printProcStats prints one line of `stream --stats-every`: the time since
// start, frames, goroutines, Go heap and the process's resident set.
func printProcStats(w io.Writer, start time.Time, st camera.Stats, jobs *renderJobs) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss := "?"
	if kb, err := vmRSS(); err == nil {
		rss = fmt.Sprintf("%.1f", float64(kb)/1024)
	}
	line := fmt.Sprintf("stats: t=%.0fs frames=%d goroutines=%d heap_mb=%.1f rss_mb=%s",
		time.Since(start).Seconds(), st.Frames, runtime.NumGoroutine(), float64(ms.HeapAlloc)/(1<<20), rss)
	if jobs != nil {
		line += "; " + jobs.String()
	}
	fmt.Fprintln(w, line)
}

// vmRSS returns the process's resident set size in KiB, from the VmRSS line
// of /proc/self/status.
func vmRSS() (int, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/self/status")
}
