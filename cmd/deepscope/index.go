package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/deepscope/deepscope/vis/index"
)

// cmdIndex runs `deepscope index ...` with the given arguments (after the
// command name) and returns the exit status.
func cmdIndex(args []string, stdout, stderr io.Writer) int {
	return exitCode(runIndex, args, stdout, stderr)
}

// cmdEmbed runs `deepscope embed ...` and returns the exit status.
func cmdEmbed(args []string, stdout, stderr io.Writer) int {
	return exitCode(runEmbed, args, stdout, stderr)
}

// exitCode runs a command function the way run does: 0 on success, 2 with
// one "deepscope: ..." line on stderr on failure.
func exitCode(fn func(*cli, []string) error, args []string, stdout, stderr io.Writer) int {
	err := fn(&cli{stdout: stdout, stderr: stderr}, args)
	var st exitStatus
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &st):
		return int(st)
	}
	fmt.Fprintf(stderr, "deepscope: %s\n", oneLine(err.Error()))
	return 2
}

// runIndex builds a dataset index (`index`), merges shards (`index
// merge`) or draws a unit's top-k sheet from one (`index sheet`).
func runIndex(c *cli, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "merge":
			return runIndexMerge(c, args[1:])
		case "sheet":
			return runIndexSheet(c, args[1:])
		}
	}
	fs := newFlags("index")
	var in inputFlags
	in.register(fs)
	images := fs.String("images", "", "the `source`: a folder of images or a video file (required)")
	layers := fs.String("layers", "all", "the `layers` to index, comma-separated, or all (every Conv layer)")
	top := fs.Int("top", 9, "keep the top `K` images per unit")
	shard := fs.String("shard", "", "index only shard `i/n`: every n-th image from the i-th (merge the shards with 'index merge')")
	every := fs.Int("every", 1, "videos: take every `N`-th frame")
	out := fs.String("out", "", "the index `directory` to write (required)")
	noRecon := fs.Bool("no-reconstructions", false, "keep only the receptive-field crops: no deconvnet and guided-backprop pictures (no backward passes)")
	baseline := fs.Int("baseline", 0, "first time `N` plain forward passes on the source's first images, to compare the scan's throughput with")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(rest) > 0:
		return fmt.Errorf("index: unexpected arguments %q (the source goes in --images)", rest)
	case in.npy != "":
		return fmt.Errorf("index: --input-npy does not apply; give --images DIR|VIDEO")
	case *images == "":
		return fmt.Errorf("index: --images DIR|VIDEO is required")
	case *out == "":
		return fmt.Errorf("index: --out INDEX is required")
	case *top < 1:
		return fmt.Errorf("index: --top must be at least 1")
	case *every < 1:
		return fmt.Errorf("index: --every must be at least 1")
	}
	var sh index.Shard
	if *shard != "" {
		if sh, err = index.ParseShard(*shard); err != nil {
			return fmt.Errorf("index: --shard: %w", err)
		}
	}
	m, err := in.load()
	if err != nil {
		return err
	}
	if err := in.fitSidecar(m); err != nil {
		return err
	}
	var names []string
	for _, n := range strings.Split(*layers, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var base, readBase time.Duration
	if *baseline > 0 {
		per, n, err := index.ForwardBaseline(ctx, m, in.sidecar, *images, *baseline)
		if err != nil {
			return fmt.Errorf("index: --baseline: %w", err)
		}
		base = per
		fmt.Fprintf(c.stdout, "plain forward: %d passes, %.1f ms each, %.2f images/s\n", n, ms(per), 1/per.Seconds())
		if per, n, err := index.ReadForwardBaseline(ctx, m, in.sidecar, *images, *baseline); err == nil {
			readBase = per
			fmt.Fprintf(c.stdout, "plain forward reading the images: %d images, %.1f ms each, %.2f images/s\n", n, ms(per), 1/per.Seconds())
		}
	}
	bar := newProgressBar(c.stderr)
	res, err := index.Build(ctx, index.Options{
		Model: m, ModelPath: in.model, Sidecar: in.sidecar, Source: *images, Layers: names, Top: *top,
		Shard: sh, Every: *every, Out: *out, NoReconstructions: *noRecon, Progress: bar.update,
		Log: func(s string) { bar.note(s) },
	})
	bar.end()
	if base > 0 && err == nil {
		// Time the plain forward passes again after the build and compare
		// with the mean of both: the machine's load may change during a
		// long build.
		if per, n, aerr := index.ForwardBaseline(ctx, m, in.sidecar, *images, *baseline); aerr == nil {
			fmt.Fprintf(c.stdout, "plain forward after the build: %d passes, %.1f ms each, %.2f images/s\n", n, ms(per), 1/per.Seconds())
			base = (base + per) / 2
			fmt.Fprintf(c.stdout, "plain forward, mean of before and after: %.1f ms, %.2f images/s\n", ms(base), 1/base.Seconds())
		}
	}
	if res != nil {
		printBuild(c.stdout, res, base, readBase)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("index: stopped; the previous index (if any) is untouched, run the same command again to continue")
	}
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	man := res.Manifest
	units := 0
	for _, l := range man.Layers {
		units += l.Units
	}
	size, files := dirSize(*out)
	fmt.Fprintf(c.stdout, "index %s: %d layers, %d units, %d images (%d skipped), %d files, %.1f MB\n",
		*out, len(man.Layers), units, man.Images, len(man.Skipped), files, float64(size)/1e6)
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// printBuild reports a build's throughput.
func printBuild(w io.Writer, r *index.Result, base, readBase time.Duration) {
	if r.Resumed {
		fmt.Fprintln(w, "continued a stopped build")
	}
	if r.Scanned > 0 {
		rate := float64(r.Scanned) / r.ScanTime.Seconds()
		fwd := float64(r.Scanned) / r.ForwardTime.Seconds()
		fmt.Fprintf(w, "scan: %d images in %s, %.2f images/s; its forward passes alone %.2f images/s (scan/forward %.2fx)\n",
			r.Scanned, r.ScanTime.Round(time.Millisecond), rate, fwd, rate/fwd)
		if base > 0 {
			fmt.Fprintf(w, "scan vs plain forward: %.2fx\n", rate*base.Seconds())
		}
		if readBase > 0 {
			fmt.Fprintf(w, "scan vs plain forward reading the images: %.2fx\n", rate*readBase.Seconds())
		}
	}
	if r.Rendered > 0 {
		fmt.Fprintf(w, "render: %d images, %d backward passes in %s\n", r.Rendered, r.Passes, r.RenderTime.Round(time.Millisecond))
	}
	if total := r.ScanTime + r.RenderTime; r.Scanned > 0 && total > 0 {
		fmt.Fprintf(w, "total: %s, %.2f images/s", total.Round(time.Millisecond), float64(r.Scanned)/total.Seconds())
		if base > 0 {
			fmt.Fprintf(w, " (%.2fx plain forward)", float64(r.Scanned)/total.Seconds()*base.Seconds())
		}
		fmt.Fprintln(w)
	}
}

// dirSize returns the bytes and number of files under dir.
func dirSize(dir string) (size int64, files int) {
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				size += info.Size()
				files++
			}
		}
		return nil
	})
	return size, files
}

// runIndexMerge merges index shards.
func runIndexMerge(c *cli, args []string) error {
	fs := newFlags("index merge")
	out := fs.String("out", "", "the merged index `directory` (required)")
	srcs, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *out == "":
		return fmt.Errorf("index merge: --out INDEX is required")
	case len(srcs) == 0:
		return fmt.Errorf("index merge: give the indexes to merge: index merge A B ... --out INDEX")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	man, err := index.Merge(ctx, *out, srcs...)
	if err != nil {
		return fmt.Errorf("index merge: %w", err)
	}
	fmt.Fprintf(c.stdout, "merged %d indexes (%d shards, %d images, %d skipped) into %s\n", len(srcs), len(man.Shards), man.Images, len(man.Skipped), *out)
	return nil
}

// runIndexSheet draws one unit's top-k from an index as a PNG.
func runIndexSheet(c *cli, args []string) error {
	fs := newFlags("index sheet")
	dir := fs.String("index", "", "the index `directory` (required)")
	layer := fs.String("layer", "", "the `layer` (required)")
	unit := fs.Int("unit", 0, "the `unit`")
	kinds := fs.String("kinds", "", "the `renderings` to show, one row each: max, deconv, guided (default: all the index has)")
	out := fs.String("out", "", "the PNG `file` to write (required)")
	if _, err := c.parse(fs, args); err != nil {
		return err
	}
	if *dir == "" || *layer == "" || *out == "" {
		return fmt.Errorf("index sheet: --index, --layer and --out are required")
	}
	ix, err := index.Open(*dir)
	if err != nil {
		return err
	}
	var ks []string
	if *kinds != "" {
		ks = strings.Split(*kinds, ",")
	}
	img, err := ix.Sheet(*layer, *unit, ks...)
	if err != nil {
		return fmt.Errorf("index sheet: %w", err)
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// progressBar draws a build's progress on a terminal (one line redrawn in
// place) or, when the output is not a terminal, prints a line every tenth
// of the way.
type progressBar struct {
	w     io.Writer
	tty   bool
	phase string
	shown bool
	step  int // last tenth printed (no tty)
}

func newProgressBar(w io.Writer) *progressBar {
	b := &progressBar{w: w}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			b.tty = true
		}
	}
	return b
}

func (b *progressBar) update(p index.Progress) {
	if p.Phase != b.phase {
		b.end()
		b.phase, b.step = p.Phase, -1
	}
	line := fmt.Sprintf("%-6s", p.Phase)
	if p.Total > 0 {
		const width = 30
		fill := min(width, p.Done*width/p.Total)
		line += fmt.Sprintf(" [%s%s] %3d%% %d/%d", strings.Repeat("#", fill), strings.Repeat("-", width-fill), p.Done*100/p.Total, p.Done, p.Total)
	} else {
		line += fmt.Sprintf(" %d", p.Done)
	}
	if s := p.Elapsed.Seconds(); s > 0 {
		line += fmt.Sprintf(" %5.1f/s", float64(p.Done)/s)
	}
	if p.ETA > 0 {
		line += " ETA " + p.ETA.Round(time.Second).String()
	}
	if p.Skipped > 0 {
		line += fmt.Sprintf(" (%d skipped)", p.Skipped)
	}
	if b.tty {
		fmt.Fprintf(b.w, "\r%s\x1b[K", line)
		b.shown = true
		return
	}
	if p.Total > 0 {
		if step := p.Done * 10 / p.Total; step > b.step {
			b.step = step
			fmt.Fprintln(b.w, line)
		}
	}
}

// note prints a message on its own line.
func (b *progressBar) note(s string) {
	b.end()
	fmt.Fprintln(b.w, s)
}

// end finishes the bar's line.
func (b *progressBar) end() {
	if b.tty && b.shown {
		fmt.Fprintln(b.w)
	}
	b.shown = false
}

// runEmbed lays the images of a folder (or the frames of a video) out by
// t-SNE of a layer's features and writes the picture.
func runEmbed(c *cli, args []string) error {
	fs := newFlags("embed")
	var in inputFlags
	in.register(fs)
	layer := fs.String("layer", "", "the `layer` whose features lay the images out (spatial layers are averaged over positions; required)")
	images := fs.String("images", "", "the `source`: a folder of images or a video file (required)")
	every := fs.Int("every", 1, "videos: take every `N`-th frame")
	out := fs.String("out", "", "the PNG `file` to write (required)")
	perplexity := fs.Float64("perplexity", 30, "t-SNE `perplexity`")
	iterations := fs.Int("iterations", 1000, "t-SNE `iterations`")
	seed := fs.Uint64("seed", 1, "t-SNE random `seed`")
	size := fs.Int("size", 2000, "the picture's side in `pixels`")
	thumb := fs.Int("thumb", 64, "each image's side in `pixels`")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(rest) > 0:
		return fmt.Errorf("embed: unexpected arguments %q (the source goes in --images)", rest)
	case in.npy != "":
		return fmt.Errorf("embed: --input-npy does not apply; give --images DIR|VIDEO")
	case *layer == "" || *images == "" || *out == "":
		return fmt.Errorf("embed: --layer, --images and --out are required")
	case *size < 16 || *thumb < 1 || *thumb > *size:
		return fmt.Errorf("embed: want --size >= 16 and 1 <= --thumb <= --size")
	case *iterations < 1 || *every < 1:
		return fmt.Errorf("embed: --iterations and --every must be at least 1")
	}
	m, err := in.load()
	if err != nil {
		return err
	}
	if err := in.fitSidecar(m); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	bar := newProgressBar(c.stderr)
	emb, err := index.Embed(ctx, index.EmbedOptions{Model: m, Sidecar: in.sidecar, Layer: *layer, Source: *images, Every: *every,
		Perplexity: *perplexity, Iterations: *iterations, Seed: *seed, Size: *size, Thumb: *thumb, Progress: bar.update})
	bar.end()
	if err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := png.Encode(f, emb.Image); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "embed: %d images (%d skipped) by %s -> %s\n", len(emb.Names), len(emb.Skipped), *layer, *out)
	return nil
}
