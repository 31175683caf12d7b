package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"github.com/deepscope/deepscope/assets"
	"github.com/deepscope/deepscope/camera"
	"github.com/deepscope/deepscope/ui"
	"github.com/deepscope/deepscope/vis"
)

// cmdGUI runs the gui command (and `deepscope` without arguments, with
// nil args) and returns its exit status: 0 when the window was closed, 2
// on bad flags or a model that cannot be opened, with one line
// "deepscope: ..." on stderr.
func cmdGUI(args []string, stdout, stderr io.Writer) int {
	err := runGUI(&cli{stdout: stdout, stderr: stderr}, args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "deepscope: %s\n", oneLine(err.Error()))
	return 2
}

// runGUI opens the explorer window.
func runGUI(c *cli, args []string) error {
	fs := newFlags("gui")
	modelPath := fs.String("model", "", modelFlagHelp+" (default: $DEEPSCOPE_MODEL, else "+assets.DemoSpec+")")
	source := fs.String("source", "", "where frames come from: `SOURCE` is "+camera.SourceHelp+" (a missing webcam falls back to the pattern; default: the webcam, or for the demo network the Fashion-MNIST test images, else the pattern)")
	sel := fs.String("select", "", "select the unit `LAYER:UNIT` at start (see 'deepscope layers')")
	method := fs.String("method", "guided", "the rendering at start: `METHOD` is off, "+strings.Join(vis.Names(), ", "))
	presentation := fs.Bool("presentation", false, "start in presentation mode (full screen, large text)")
	exportDir := fs.String("export-dir", "", "where the S key exports the panes (default ~/deepscope-export)")
	stats := fs.Duration("stats", 0, "print the frame rates, renderings per second and memory every `DURATION` to stdout (0: never)")
	quitAfter := fs.Duration("quit-after", 0, "close the window after `DURATION` (0: never), e.g. for measurements")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the session to `FILE` (go tool pprof)")
	keys := fs.String("keys", "", "press these `KEYS` (space-separated: letters as typed, or Left, Right, Up, Down, Escape, PageUp, PageDown, F11) 3 s after start, e.g. for screenshots")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("gui: unexpected argument %q (the source is given with --source)", rest[0])
	}
	if *method != ui.MethodOff {
		if _, err := vis.Lookup(*method); err != nil {
			return fmt.Errorf("gui: --method: %w", err)
		}
	}
	if *modelPath == "" {
		*modelPath = ui.DefaultModel()
	}
	if *source == "" {
		*source = ui.DefaultSource(*modelPath)
	}
	if !hasDisplay() {
		return errors.New("gui: no display (DISPLAY is not set): the explorer needs a desktop session, or Xvfb (see scripts/screenshot); the other commands work without one")
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("gui: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("gui: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	fa := fyneapp.NewWithID("io.github.deepscope")
	a, err := ui.New(fa, ui.Options{
		Model: *modelPath, Source: *source, Select: *sel, Method: *method,
		Presentation: *presentation, ExportDir: *exportDir, Log: c.stderr,
	})
	if err != nil {
		return fmt.Errorf("gui: %w", err)
	}
	defer a.Close()
	done := make(chan struct{})
	defer close(done)
	if *stats > 0 {
		go printGUIStats(c.stdout, a, *stats, done)
	}
	if *keys != "" {
		go func() {
			select {
			case <-time.After(3 * time.Second):
				fyne.Do(func() {
					for _, k := range strings.Fields(*keys) {
						a.Key(k)
					}
				})
			case <-done:
			}
		}()
	}
	if *quitAfter > 0 {
		go func() {
			select {
			case <-time.After(*quitAfter):
				fyne.Do(fa.Quit)
			case <-done:
			}
		}()
	}
	a.Window().ShowAndRun()
	return nil
}

// hasDisplay reports whether a window can be opened: on Linux and the BSDs
// an X11 or Wayland display must be set.
func hasDisplay() bool {
	switch runtime.GOOS {
	case "linux", "freebsd", "openbsd", "netbsd":
		return os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != ""
	}
	return true
}

// printGUIStats prints one line of measurements every period.
func printGUIStats(w io.Writer, a *ui.App, period time.Duration, done <-chan struct{}) {
	start := time.Now()
	t := time.NewTicker(period)
	defer t.Stop()
	var lastRendered uint64
	last := start
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			st, uiFPS := a.Stats()
			n := a.Rendered()
			perSec := float64(n-lastRendered) / now.Sub(last).Seconds()
			lastRendered, last = n, now
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Fprintf(w, "t=%.0fs fps %.1f ui %.1f renderings/s %.1f frames %d dropped %d forward %.1fms heap %.1fMB sys %.1fMB rss %.1fMB\n",
				now.Sub(start).Seconds(), st.FPS, uiFPS, perSec, st.Frames, st.Dropped, st.Mean.Forward.Seconds()*1000,
				float64(ms.HeapAlloc)/(1<<20), float64(ms.Sys)/(1<<20), rssMB())
		}
	}
}

// rssMB returns the process's resident memory in MB (Linux; 0 elsewhere).
func rssMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			fields := strings.Fields(rest)
			if len(fields) > 0 {
				kb, _ := strconv.ParseFloat(fields[0], 64)
				return kb / 1024
			}
		}
	}
	return 0
}
