package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"sync"
	"time"

	"github.com/deepscope/deepscope/camera"
	"github.com/deepscope/deepscope/model"
)

// runStream runs the live pipeline headless: frames from --source are
// preprocessed and sent through every layer of the model, as the explorer
// does, and the frame rate and per-stage times are printed at the end. It
// is the benchmark of the live path: files are read as fast as the
// pipeline takes them unless --realtime paces them.
func runStream(c *cli, args []string) error {
	fs := newFlags("stream")
	modelPath := fs.String("model", "", modelFlagHelp+" (required)")
	source := fs.String("source", "webcam", "where frames come from: `SOURCE` is "+camera.SourceHelp)
	frames := fs.Int("frames", 100, "stop after `N` frames (0: run until interrupted)")
	layer := fs.String("layer", "", "read the layer `NAME` of every frame, as the explorer draws it, and report it")
	realtime := fs.Bool("realtime", false, "play files at their own frame rate instead of as fast as possible")
	fallback := fs.String("fallback", "pattern", "the `SOURCE` used when the source is missing or fails (none: no fallback)")
	duration := fs.Duration("duration", 0, "stop after `D` (e.g. 30m; --frames then defaults to 0)")
	renderEvery := fs.Duration("render-every", 0, "every `D`, start a guided-backprop rendering of a unit of --layer (default the logits) on the latest frame in the background, cancelling the previous one if still running")
	statsEvery := fs.Duration("stats-every", 0, "every `D`, print goroutines, Go heap and resident memory (VmRSS)")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(rest) > 0:
		return fmt.Errorf("stream: unexpected argument %q (the source is given with --source)", rest[0])
	case *frames < 0:
		return fmt.Errorf("stream: --frames must be 0 or more, got %d", *frames)
	case *duration < 0 || *renderEvery < 0 || *statsEvery < 0:
		return fmt.Errorf("stream: --duration, --render-every and --stats-every must not be negative")
	}
	if *duration > 0 && !flagSet(fs, "frames") {
		*frames = 0
	}
	m, sc, err := loadModelSidecar("stream", *modelPath)
	if err != nil {
		return err
	}
	if err := sc.FitInput(m.Input().Shape); err != nil {
		return err
	}
	if *layer != "" {
		if _, err := m.Layer(*layer); err != nil {
			return err
		}
	}

	var logMu sync.Mutex
	logf := func(msg string) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(c.stderr, "deepscope: stream: %s\n", oneLine(msg))
	}
	opt := camera.Options{Realtime: *realtime}
	var openFallback func() (camera.Source, error)
	if *fallback != "none" && *fallback != *source {
		openFallback = func() (camera.Source, error) { return camera.Open(*fallback, opt) }
	}
	src, err := camera.Open(*source, opt)
	if err != nil {
		// A missing camera is not the user's mistake: show something.
		if !errors.Is(err, camera.ErrNoDevice) || openFallback == nil {
			return fmt.Errorf("stream: %w", err)
		}
		fb, ferr := openFallback()
		if ferr != nil {
			return fmt.Errorf("stream: %v; the fallback failed too: %w", err, ferr)
		}
		logf(fmt.Sprintf("%v; using %s instead", err, fb.Info().Name))
		src = fb
	}
	p, err := camera.New(m, sc, camera.Config{Source: src, Fallback: openFallback, Log: logf})
	if err != nil {
		src.Close()
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var jobs *renderJobs
	var renderC, statsC, endC <-chan time.Time
	if *renderEvery > 0 {
		if jobs, err = newRenderJobs(m, p, *layer); err != nil {
			cancel()
			<-done
			return fmt.Errorf("stream: %w", err)
		}
		defer jobs.stop()
		t := time.NewTicker(*renderEvery)
		defer t.Stop()
		renderC = t.C
	}
	if *statsEvery > 0 {
		t := time.NewTicker(*statsEvery)
		defer t.Stop()
		statsC = t.C
	}
	if *duration > 0 {
		t := time.NewTimer(*duration)
		defer t.Stop()
		endC = t.C
	}
	started := time.Now()

	var (
		st     camera.Stats
		runErr error
		ls     layerStats
	)
wait:
	for {
		select {
		case runErr = <-done:
			st = p.Stats()
			break wait
		case <-endC:
			st = p.Stats()
			cancel()
			runErr = <-done
			break wait
		case <-renderC:
			jobs.tick(ctx)
		case <-statsC:
			printProcStats(c.stdout, started, p.Stats(), jobs)
		case <-p.Updated():
			s := p.Snapshot()
			if s == nil {
				continue
			}
			if *layer != "" {
				ls.read(s, *layer)
			}
			n := s.Seq
			s.Release()
			if *frames > 0 && n >= uint64(*frames) {
				st = p.Stats()
				cancel()
				runErr = <-done
				break wait
			}
		}
	}
	if runErr != nil {
		return fmt.Errorf("stream: %w", runErr)
	}
	printStream(c.stdout, m, st, *layer, ls)
	if jobs != nil {
		jobs.stop()
		fmt.Fprintln(c.stdout, jobs)
	}
	if *statsEvery > 0 {
		printProcStats(c.stdout, started, st, nil)
	}
	return nil
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// layerStats summarise one layer of the last frame read.
type layerStats struct {
	shape     []int
	mean, max float64
	ok        bool
}

func (l *layerStats) read(s *camera.Snapshot, name string) {
	v, err := s.Get(name)
	if err != nil || v.DType != model.Float32 || len(v.Data) == 0 {
		return
	}
	sum, hi := 0.0, math.Inf(-1)
	for _, x := range v.Data {
		sum += float64(x)
		hi = max(hi, float64(x))
	}
	*l = layerStats{shape: v.Shape, mean: sum / float64(len(v.Data)), max: hi, ok: true}
}

func printStream(w io.Writer, m *model.Model, st camera.Stats, layer string, ls layerStats) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", d.Seconds()*1000) }
	fmt.Fprintf(w, "source: %s\n", st.Source)
	fmt.Fprintf(w, "model: %s, %d layers computed per frame, input %s\n", m.Name, len(m.Layers), model.ShapeString(m.Input().Shape))
	fps := 0.0
	if st.Elapsed > 0 {
		fps = float64(st.Frames) / st.Elapsed.Seconds()
	}
	fmt.Fprintf(w, "%d frames in %.2f s: %.1f fps (recent %.1f fps); %d dropped, %d source errors",
		st.Frames, st.Elapsed.Seconds(), fps, st.FPS, st.Dropped, st.Errors)
	if st.Fallbacks > 0 {
		fmt.Fprintf(w, ", %d fallbacks", st.Fallbacks)
	}
	fmt.Fprintln(w)
	t := st.Mean
	interval := time.Duration(0)
	if st.Frames > 0 {
		interval = st.Elapsed / time.Duration(st.Frames)
	}
	fmt.Fprintf(w, "per frame, ms: reader: source %s + preprocess %s | network, overlapping the reader: wait %s + forward %s + publish %s | interval %s\n",
		ms(t.Source), ms(t.Preprocess), ms(t.Wait), ms(t.Forward), ms(t.Publish), ms(interval))
	if layer != "" && ls.ok {
		fmt.Fprintf(w, "layer %s: %s, last frame mean %.4g, max %.4g\n", layer, model.ShapeString(ls.shape), ls.mean, ls.max)
	}
}
