package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/deepscope/deepscope/model"
	"github.com/deepscope/deepscope/vis"
)

// Commands that make images by optimization (package vis, optimize.go and
// the method files): optimize, dream, classviz, invert, fool, adversarial
// and style. Each runCommand-style function fits the command table; the
// cmd* wrappers run one with its own exit status.

// Synopses, for the command table.
const (
	optimizeArgs = "--model M.onnx (--layer L --unit U [--at center|max|Y,X] | --class C) [--preset lucid|yosinski1..4|simonyan|none] " +
		"[--steps N] [--lr X] [--optimizer adam|momentum|sgd|normalized] [--diversity N] [--seed S] [--every K --frames DIR] --out AM.png"
	dreamArgs = "--model M.onnx --layer L [--unit U] [--octaves 3] [--octave-scale 1.4] [--steps 10] [--step 1.5] [--jitter 32] " +
		"[--size S] [--seed S] --out DREAM.png IMAGE | --noise"
	classvizArgs    = "--model M.onnx --class C [--preset simonyan|lucid|...] [--l2 λ] [--steps N] [--seed S] --out C.png"
	invertArgs      = "--model M.onnx --layer L [--alpha-weight λ] [--tv-weight λ] [--steps N] [--seed S] --out INV.png IMAGE | --input-npy X.npy"
	foolArgs        = "--model M.onnx --class C [--confidence 0.99] [--steps N] [--seed S] --out F.png"
	adversarialArgs = "--model M.onnx --epsilon 2/255 [--target C] [--method pgd|fgsm] [--steps 10] [--seed S] --out ADV.png IMAGE | --input-npy X.npy"
	styleArgs       = "--model M.onnx --content IMAGE --style IMAGE [--content-layer L] [--style-layers L1,L2,...] " +
		"[--content-weight 1] [--style-weight 100] [--steps N] [--seed S] --out S.png"
)

func cmdOptimize(args []string, stdout, stderr io.Writer) int {
	return runAs(runOptimize, args, stdout, stderr)
}
func cmdDream(args []string, stdout, stderr io.Writer) int {
	return runAs(runDream, args, stdout, stderr)
}
func cmdClassviz(args []string, stdout, stderr io.Writer) int {
	return runAs(runClassviz, args, stdout, stderr)
}
func cmdInvert(args []string, stdout, stderr io.Writer) int {
	return runAs(runInvert, args, stdout, stderr)
}
func cmdFool(args []string, stdout, stderr io.Writer) int {
	return runAs(runFool, args, stdout, stderr)
}
func cmdAdversarial(args []string, stdout, stderr io.Writer) int {
	return runAs(runAdversarial, args, stdout, stderr)
}
func cmdStyle(args []string, stdout, stderr io.Writer) int {
	return runAs(runStyle, args, stdout, stderr)
}

// runAs runs a command function with the exit statuses of run: 0 on
// success or -h, 2 with one line "deepscope: ..." on stderr otherwise.
func runAs(f func(*cli, []string) error, args []string, stdout, stderr io.Writer) int {
	err := f(&cli{stdout: stdout, stderr: stderr}, args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "deepscope: %s\n", oneLine(err.Error()))
	return 2
}

// optFlags are the flags shared by the optimization commands.
type optFlags struct {
	in     inputFlags
	steps  int
	lr     float64
	seed   uint64
	out    string
	every  int
	frames string
}

func (f *optFlags) register(fs *flag.FlagSet) {
	f.in.register(fs)
	fs.IntVar(&f.steps, "steps", 0, "the number of optimization `steps` (default: the recipe's)")
	fs.Float64Var(&f.lr, "lr", 0, "the learning `rate` (default: the recipe's)")
	fs.Uint64Var(&f.seed, "seed", 0, "the random `seed` (same seed, same image)")
	fs.StringVar(&f.out, "out", "", "the PNG `file` to write (required)")
	fs.IntVar(&f.every, "every", 0, "with --frames, save the image every `K` steps")
	fs.StringVar(&f.frames, "frames", "", "save the image as it forms into this `directory` (DIR/step-NNNN.png)")
}

// start checks the shared flags and loads the model and its pixel space.
func (f *optFlags) start(cmd string, images []string, wantImages bool) (*model.Model, vis.PixelSpace, error) {
	switch {
	case f.out == "":
		return nil, vis.PixelSpace{}, fmt.Errorf("%s: --out is required", cmd)
	case f.steps < 0 || f.lr < 0 || f.every < 0:
		return nil, vis.PixelSpace{}, fmt.Errorf("%s: --steps, --lr and --every must not be negative", cmd)
	case f.frames != "" && f.every == 0:
		return nil, vis.PixelSpace{}, fmt.Errorf("%s: --frames needs --every K", cmd)
	case !wantImages && (len(images) > 0 || f.in.npy != ""):
		return nil, vis.PixelSpace{}, fmt.Errorf("%s: takes no IMAGE or --input-npy (got %q)", cmd, strings.Join(append(images, f.in.npy), " "))
	}
	if wantImages {
		if err := f.in.checkInputs(cmd, images, 1); err != nil {
			return nil, vis.PixelSpace{}, err
		}
	}
	m, err := f.in.load()
	if err != nil {
		return nil, vis.PixelSpace{}, err
	}
	if !f.in.imagesOK {
		if err := f.in.fitSidecar(m); err != nil {
			return nil, vis.PixelSpace{}, err
		}
		f.in.imagesOK = true
	}
	if f.frames != "" {
		if err := os.MkdirAll(f.frames, 0o755); err != nil {
			return nil, vis.PixelSpace{}, fmt.Errorf("%s: --frames: %w", cmd, err)
		}
	}
	in := m.Input()
	if len(in.Shape) != 4 {
		return nil, vis.PixelSpace{}, fmt.Errorf("%s: the model's input %q is %s; want a 1xCxHxW image", cmd, in.Name, shapeString(in.Shape))
	}
	return m, vis.NewPixelSpace(f.in.sidecar, in.Shape[1]), nil
}

// apply sets the step count, learning rate, seed and frame writer of o.
func (f *optFlags) apply(o *vis.Optimization) {
	if f.steps > 0 {
		o.Steps = f.steps
	}
	if f.lr > 0 {
		o.LR = f.lr
	}
	o.Seed = f.seed
	if f.frames != "" {
		o.Every = f.every
		o.OnStep = f.frameWriter()
	}
}

// frameWriter returns a step callback that saves the images as they form.
func (f *optFlags) frameWriter() func(*vis.OptProgress) error {
	return func(p *vis.OptProgress) error {
		img := f.picture(p.Images, nil)
		return writePNG(filepath.Join(f.frames, fmt.Sprintf("step-%04d.png", p.Step)), img)
	}
}

// picture draws network inputs as one image: the image itself, or a
// labelled row of them.
func (f *optFlags) picture(xs []*model.Tensor, labels []string) image.Image {
	if len(xs) == 1 && labels == nil {
		return f.in.sidecar.ToImage(xs[0])
	}
	tiles := make([]vis.Tile, len(xs))
	for i, x := range xs {
		tiles[i] = vis.Tile{Image: f.in.sidecar.ToImage(x)}
		if i < len(labels) {
			tiles[i].Label = labels[i]
		}
	}
	return vis.Sheet(tiles, len(tiles))
}

// interruptible returns a context cancelled by Ctrl-C.
func interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}

// interrupted rewords a cancellation.
func interrupted(cmd string, err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: interrupted", cmd)
	}
	return fmt.Errorf("%s: %w", cmd, err)
}

// timing describes a run's speed.
func timing(steps int, net, elapsed time.Duration) string {
	over := 0.0
	if net > 0 {
		over = 100 * float64(elapsed-net) / float64(net)
	}
	return fmt.Sprintf("%d steps in %.1f s (%.0f ms/step; network %.1f s, other work %+.0f%% of it)",
		steps, elapsed.Seconds(), float64(elapsed.Milliseconds())/float64(max(1, steps)), net.Seconds(), over)
}

// runOptimize is activation maximization of a unit, a position or a class.
func runOptimize(c *cli, args []string) error {
	fs := newFlags("optimize")
	var f optFlags
	f.register(fs)
	layer := fs.String("layer", "", "the `layer` of the unit (see 'deepscope layers')")
	unit := fs.Int("unit", -1, "the unit (channel) `U` of --layer")
	at := fs.String("at", "", "maximize the unit at the layer's centre position (center), at its strongest (max) or at `Y,X` (default: the channel's mean)")
	class := fs.Int("class", -1, "maximize the logit of class `C` instead")
	preset := fs.String("preset", "lucid", "the `recipe`: "+strings.Join(vis.Presets(), ", "))
	optimizer := fs.String("optimizer", "", "override the recipe's `optimizer`: adam, momentum, sgd or normalized")
	diversity := fs.Int("diversity", 1, "make `N` different images of the unit (a diversity term on the layer's Gram matrices)")
	divWeight := fs.Float64("diversity-weight", defaultDiversityWeight, "the `weight` of the diversity term against the unit's mean activation")
	images, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	switch {
	case given["class"] == given["layer"]:
		return fmt.Errorf("optimize: give either --layer L --unit U or --class C")
	case given["layer"] && !given["unit"]:
		return fmt.Errorf("optimize: --layer needs --unit U")
	case given["unit"] && !given["layer"]:
		return fmt.Errorf("optimize: --unit needs --layer L (for a class, use --class)")
	case given["at"] && !given["layer"]:
		return fmt.Errorf("optimize: --at applies to --layer targets only")
	case *diversity < 1 || *diversity > 16:
		return fmt.Errorf("optimize: --diversity must be 1..16, got %d", *diversity)
	case *divWeight < 0:
		return fmt.Errorf("optimize: --diversity-weight must not be negative")
	}
	rec, err := vis.Preset(*preset)
	if err != nil {
		return fmt.Errorf("optimize: --preset: %w", err)
	}
	if *optimizer != "" {
		if !slices.Contains(vis.Optimizers(), *optimizer) {
			return fmt.Errorf("optimize: --optimizer %q: want %s", *optimizer, strings.Join(vis.Optimizers(), ", "))
		}
		rec.Optimizer = *optimizer
	}
	m, space, err := f.start("optimize", images, false)
	if err != nil {
		return err
	}
	target, err := optTarget(m, given["class"], *class, *layer, *unit, *at)
	if err != nil {
		return fmt.Errorf("optimize: %w", err)
	}
	obj := vis.Activation(target)
	if *diversity > 1 {
		obj = vis.Sum(obj, vis.Diversity(target.Layer, *divWeight))
	}
	o := &vis.Optimization{Model: m, Space: space, Objective: obj, Recipe: rec, Images: *diversity}
	f.apply(o)
	ctx, stop := interruptible()
	defer stop()
	res, err := vis.Optimize(ctx, o)
	if err != nil {
		return interrupted("optimize", err)
	}
	what := describeTarget(f.in.sidecar, target)
	labels := []string(nil)
	scores := make([]float64, len(res.Images))
	for i, x := range res.Images {
		// The target alone, without the diversity term, on the 8-bit image.
		scores[i], err = targetScore(m, vis.Activation(target), vis.Quantize(x, space))
		if err != nil {
			return fmt.Errorf("optimize: %w", err)
		}
		if len(res.Images) > 1 {
			labels = append(labels, fmt.Sprintf("%d: %.3g", i+1, scores[i]))
		}
	}
	if err := writePNG(f.out, f.picture(res.Images, labels)); err != nil {
		return err
	}
	kind := "activation"
	if target.Class {
		kind = "logit"
	}
	for i, s := range scores {
		name := f.out
		if len(scores) > 1 {
			name = fmt.Sprintf("%s image %d", f.out, i+1)
		}
		fmt.Fprintf(c.stdout, "%s: %s, %s %.4g\n", name, what, kind, s)
	}
	fmt.Fprintf(c.stdout, "preset %s: %s\n", *preset, timing(res.Steps, res.NetTime, res.Elapsed))
	return nil
}

// defaultDiversityWeight weighs the diversity term against a unit's mean
// activation (Lucid's examples use 1e2 to 1e3 against a channel mean of a
// few units; the term is a sum of cosines, at most N-1 per image).
const defaultDiversityWeight = 3

// optTarget builds the target of optimize: a class, or a unit of a layer
// summed (its mean, for vis.Activation), at its centre, at its strongest
// position or at Y,X.
func optTarget(m *model.Model, isClass bool, class int, layer string, unit int, at string) (vis.Target, error) {
	if isClass {
		return vis.ClassTarget(m, class)
	}
	if strings.TrimSpace(at) == "center" {
		l, err := m.Layer(layer)
		if err != nil {
			return vis.Target{}, err
		}
		if len(l.Shape) != 4 {
			return vis.Target{}, fmt.Errorf("--at center needs a layer with two spatial axes; %s is %s", layer, shapeString(l.Shape))
		}
		return vis.UnitTarget(m, layer, unit, vis.AtPoint, l.Shape[2]/2, l.Shape[3]/2)
	}
	mode, y, x, err := vis.ParseAt(at)
	if err != nil {
		return vis.Target{}, err
	}
	return vis.UnitTarget(m, layer, unit, mode, y, x)
}

// describeTarget names a target, with the class label when there is one.
func describeTarget(sc *model.Sidecar, t vis.Target) string {
	s := t.String()
	if t.Class {
		s += " (" + sc.Label(t.Unit) + ")"
	}
	return s
}

// targetScore evaluates an objective on one network input.
func targetScore(m *model.Model, obj vis.Objective, x *model.Tensor) (float64, error) {
	a, err := m.Run(x)
	if err != nil {
		return 0, err
	}
	defer a.Release()
	vals := map[string]*model.Tensor{}
	for _, l := range append(obj.Layers(), m.Input().Name) {
		if vals[l], err = a.Get(l); err != nil {
			return 0, err
		}
	}
	v, err := obj.Eval(vis.NewFeatures(1, vals, m.Input().Name, vis.PixelSpace{}), false)
	if err != nil {
		return 0, err
	}
	return v[0], nil
}

// runDream is DeepDream on a photo or on noise.
func runDream(c *cli, args []string) error {
	fs := newFlags("dream")
	var f optFlags
	f.register(fs)
	layer := fs.String("layer", "", "the `layer` to amplify (required)")
	unit := fs.Int("unit", -1, "amplify only this `channel` of --layer (default: all of it, ½ mean(a²))")
	octaves := fs.Int("octaves", 3, "the number of `octaves` (scales)")
	octaveScale := fs.Float64("octave-scale", 1.4, "the `ratio` between octaves")
	step := fs.Float64("step", 1.5, "the step size in pixel `levels` (of 255) per step, on average")
	jitter := fs.Int("jitter", 32, "the largest random roll in `pixels` before each step (0: none)")
	size := fs.Int("size", 0, "the short side of the canvas in `pixels` (default: the network's × octave-scale^(octaves-1))")
	noise := fs.Bool("noise", false, "dream from grey noise instead of an IMAGE")
	images, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *layer == "":
		return fmt.Errorf("dream: --layer is required")
	case *octaves < 1 || *octaves > 10:
		return fmt.Errorf("dream: --octaves must be 1..10, got %d", *octaves)
	case !(*octaveScale > 1 && *octaveScale <= 4):
		return fmt.Errorf("dream: --octave-scale must be in (1, 4], got %g", *octaveScale)
	case !(*step > 0) || *jitter < 0 || *size < 0:
		return fmt.Errorf("dream: --step must be positive, --jitter and --size not negative")
	case *noise && (len(images) > 0 || f.in.npy != ""):
		return fmt.Errorf("dream: give an IMAGE or --noise, not both")
	case f.in.npy != "":
		return fmt.Errorf("dream: takes an IMAGE (of any size), not --input-npy")
	}
	m, space, err := f.start("dream", images, !*noise)
	if err != nil {
		return err
	}
	var obj vis.Objective = vis.DreamObjective(*layer)
	if _, err := m.Layer(*layer); err != nil {
		return fmt.Errorf("dream: %w", err)
	}
	if *unit >= 0 {
		t, err := vis.UnitTarget(m, *layer, *unit, vis.AtSum, 0, 0)
		if err != nil {
			return fmt.Errorf("dream: %w", err)
		}
		obj = vis.Activation(t)
	}
	in := m.Input()
	th, tw := in.Shape[2], in.Shape[3]
	short := *size
	if short == 0 {
		short = int(math.Round(float64(min(th, tw)) * math.Pow(*octaveScale, float64(*octaves-1))))
	}
	jit := *jitter
	if jit == 0 {
		jit = -1
	}
	d := &vis.Dream{Model: m, Space: space, Objective: obj, Octaves: *octaves, OctaveScale: *octaveScale,
		Steps: f.steps, LR: *step / 255, Jitter: jit, Seed: f.seed}
	if f.frames != "" {
		d.Every = f.every
		d.OnStep = f.frameWriter()
	}
	src := "noise"
	if *noise {
		d.Height, d.Width = max(th, short), max(tw, short)
	} else {
		src = images[0]
		if d.Image, err = canvas(f.in.sidecar, images[0], short, th, tw); err != nil {
			return fmt.Errorf("dream: %w", err)
		}
	}
	ctx, stop := interruptible()
	defer stop()
	res, err := d.Run(ctx)
	if err != nil {
		return interrupted("dream", err)
	}
	if err := writePNG(f.out, f.in.sidecar.ToImage(res.Image)); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s: dream of %s on %s, %dx%d, %d octaves\n", f.out, obj, src, res.Image.Shape[3], res.Image.Shape[2], *octaves)
	fmt.Fprintf(c.stdout, "%s\n", timing(res.Steps, res.NetTime, res.Elapsed))
	return nil
}

// canvas reads a photo as a network input of its own aspect ratio with the
// short side short (at least the network's th x tw).
func canvas(sc *model.Sidecar, path string, short, th, tw int) (*model.Tensor, error) {
	img, err := model.DecodeImage(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("image %s does not exist", path)
	}
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	if b.Empty() {
		return nil, fmt.Errorf("image %s is empty", path)
	}
	k := float64(short) / float64(min(b.Dx(), b.Dy()))
	w := max(tw, int(math.Round(float64(b.Dx())*k)))
	h := max(th, int(math.Round(float64(b.Dy())*k)))
	if w > model.MaxInputSide || h > model.MaxInputSide {
		return nil, fmt.Errorf("canvas %dx%d is too large; lower --size", w, h)
	}
	s := *sc
	s.Input.Width, s.Input.Height, s.Input.Resize = w, h, model.ResizeStretch
	return s.Preprocess(img), nil
}

// runClassviz is Simonyan et al.'s class model visualization.
func runClassviz(c *cli, args []string) error {
	fs := newFlags("classviz")
	var f optFlags
	f.register(fs)
	class := fs.Int("class", -1, "the class `C` (required)")
	preset := fs.String("preset", "simonyan", "the `recipe`: "+strings.Join(vis.Presets(), ", "))
	l2 := fs.Float64("l2", 0.1, "the weight `λ` of the L2 penalty on the pixels")
	images, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if *class < 0 {
		return fmt.Errorf("classviz: --class C is required")
	}
	if *l2 < 0 {
		return fmt.Errorf("classviz: --l2 must not be negative")
	}
	rec, err := vis.Preset(*preset)
	if err != nil {
		return fmt.Errorf("classviz: --preset: %w", err)
	}
	m, space, err := f.start("classviz", images, false)
	if err != nil {
		return err
	}
	o, err := vis.ClassModel(m, space, *class, *l2)
	if err != nil {
		return fmt.Errorf("classviz: %w", err)
	}
	o.Recipe = rec
	f.apply(o)
	ctx, stop := interruptible()
	defer stop()
	res, err := vis.Optimize(ctx, o)
	if err != nil {
		return interrupted("classviz", err)
	}
	x := vis.Quantize(res.Images[0], space)
	t, _ := vis.ClassTarget(m, *class)
	logit, err := targetScore(m, vis.Activation(t), x)
	if err != nil {
		return fmt.Errorf("classviz: %w", err)
	}
	probs, err := vis.ClassProbs(m, x)
	if err != nil {
		return fmt.Errorf("classviz: %w", err)
	}
	if err := writePNG(f.out, f.in.sidecar.ToImage(x)); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s: class model of %s, logit %.4g, probability %.4f\n", f.out, describeTarget(f.in.sidecar, t), logit, probs[*class])
	fmt.Fprintf(c.stdout, "preset %s: %s\n", *preset, timing(res.Steps, res.NetTime, res.Elapsed))
	return nil
}

// runInvert reconstructs an image from one layer's code.
func runInvert(c *cli, args []string) error {
	fs := newFlags("invert")
	var f optFlags
	f.register(fs)
	layer := fs.String("layer", "", "the `layer` whose code to invert (required)")
	alphaW := fs.Float64("alpha-weight", 1e-5, "the weight `λα` of the α-norm prior (α = 6)")
	tvW := fs.Float64("tv-weight", 1e-3, "the weight `λTV` of the total-variation prior (β = 2)")
	images, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *layer == "":
		return fmt.Errorf("invert: --layer is required")
	case *alphaW < 0 || *tvW < 0:
		return fmt.Errorf("invert: --alpha-weight and --tv-weight must not be negative")
	}
	m, space, err := f.start("invert", images, true)
	if err != nil {
		return err
	}
	return f.in.each(m, images, func(name string, x0 *model.Tensor) error {
		o, err := vis.Inversion(m, space, *layer, x0, *alphaW, *tvW)
		if err != nil {
			return fmt.Errorf("invert: %w", err)
		}
		f.apply(o)
		ctx, stop := interruptible()
		defer stop()
		res, err := vis.Optimize(ctx, o)
		if err != nil {
			return interrupted("invert", err)
		}
		x := vis.Quantize(res.Images[0], space)
		e, err := vis.InversionError(m, *layer, x, x0)
		if err != nil {
			return fmt.Errorf("invert: %w", err)
		}
		if err := writePNG(f.out, f.in.sidecar.ToImage(x)); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s: %s reconstructed from %s\n", f.out, name, *layer)
		fmt.Fprintf(c.stdout, "normalized feature reconstruction error ‖Φ(x)-Φ(x0)‖/‖Φ(x0)‖ = %.4f\n", e)
		fmt.Fprintf(c.stdout, "%s\n", timing(res.Steps, res.NetTime, res.Elapsed))
		return nil
	})
}

// runFool makes an image the network calls class C with high confidence.
func runFool(c *cli, args []string) error {
	fs := newFlags("fool")
	var f optFlags
	f.register(fs)
	class := fs.Int("class", -1, "the class `C` to fool the network into (required)")
	confidence := fs.Float64("confidence", 0.99, "stop at this `probability` of the class")
	images, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if *class < 0 {
		return fmt.Errorf("fool: --class C is required")
	}
	m, space, err := f.start("fool", images, false)
	if err != nil {
		return err
	}
	o, err := vis.Fooling(m, space, *class, *confidence)
	if err != nil {
		return fmt.Errorf("fool: %w", err)
	}
	f.apply(o)
	ctx, stop := interruptible()
	defer stop()
	res, err := vis.Optimize(ctx, o)
	if err != nil {
		return interrupted("fool", err)
	}
	x := vis.Quantize(res.Images[0], space)
	probs, err := vis.ClassProbs(m, x)
	if err != nil {
		return fmt.Errorf("fool: %w", err)
	}
	if err := writePNG(f.out, f.in.sidecar.ToImage(x)); err != nil {
		return err
	}
	t, _ := vis.ClassTarget(m, *class)
	verdict := "reached"
	if probs[*class] < *confidence {
		verdict = "NOT reached"
	}
	fmt.Fprintf(c.stdout, "%s: fooling image for %s, probability %.4f (%s %.2f; top class %s)\n", f.out,
		describeTarget(f.in.sidecar, t), probs[*class], verdict, *confidence, f.in.sidecar.Label(vis.Argmax(probs)))
	fmt.Fprintf(c.stdout, "%s\n", timing(res.Steps, res.NetTime, res.Elapsed))
	// The file is the network's input as it is: predict's default resize
	// would rescale it first, which such images do not survive.
	fmt.Fprintf(c.stdout, "check it: deepscope predict --model %s --resize stretch %s\n", f.in.model, f.out)
	return nil
}

// runAdversarial perturbs an image to change its prediction.
func runAdversarial(c *cli, args []string) error {
	fs := newFlags("adversarial")
	var f optFlags
	f.register(fs)
	epsilon := fs.String("epsilon", "2/255", "the largest change per pixel, in pixel units `ε` (a number or a fraction like 2/255)")
	target := fs.Int("target", -1, "make the network predict class `C` (default: any class but the clean prediction)")
	method := fs.String("method", "pgd", "the `attack`: pgd or fgsm")
	images, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	eps, err := parseFraction(*epsilon)
	if err != nil || !(eps > 0 && eps <= 1) {
		return fmt.Errorf("adversarial: --epsilon %q: want a number in (0, 1], e.g. 2/255", *epsilon)
	}
	if *method != "pgd" && *method != "fgsm" {
		return fmt.Errorf("adversarial: --method %q: want pgd or fgsm", *method)
	}
	if f.lr > 0 && *method == "fgsm" {
		return fmt.Errorf("adversarial: --lr (the PGD step) does not apply to fgsm")
	}
	m, space, err := f.start("adversarial", images, true)
	if err != nil {
		return err
	}
	return f.in.each(m, images, func(name string, x *model.Tensor) error {
		a := &vis.Attack{Model: m, Space: space, Image: x, Epsilon: eps, Target: *target, Method: *method,
			Steps: f.steps, StepSize: f.lr, Seed: f.seed}
		ctx, stop := interruptible()
		defer stop()
		res, err := a.Run(ctx)
		if err != nil {
			return interrupted("adversarial", err)
		}
		// clean | adversarial | perturbation magnified so that ±ε spans
		// the grey range.
		sc := f.in.sidecar
		clean := sc.ToImage(vis.Quantize(x, space))
		tiles := []vis.Tile{
			{Label: "clean: " + sc.Label(res.Clean), Image: clean},
			{Label: "adversarial: " + sc.Label(res.Adversarial), Image: sc.ToImage(res.Image)},
			{Label: fmt.Sprintf("perturbation x%.0f", 0.5/eps), Image: perturbation(res.Delta, x.Shape[1], x.Shape[2], x.Shape[3], eps, sc.Input.Color == model.BGR)},
		}
		if err := writePNG(f.out, vis.Sheet(tiles, 3)); err != nil {
			return err
		}
		verdict := "success"
		if !res.Success {
			verdict = "failure"
		}
		fmt.Fprintf(c.stdout, "%s: %s %s, ε %.4g (%.2f levels), L∞ %.4g (%.0f levels): %s (%.4f) -> %s (%.4f): %s\n",
			f.out, name, strings.ToUpper(*method), eps, eps*255, res.Linf, res.Linf*255,
			sc.Label(res.Clean), res.CleanProb, sc.Label(res.Adversarial), res.AdvProb, verdict)
		return nil
	})
}

// perturbation draws a perturbation (pixel units, c x h x w in the
// network's channel order) as grey ± δ/(2ε).
func perturbation(delta []float32, c, h, w int, eps float64, bgr bool) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			var rgb [3]uint8
			for ch := range 3 {
				src := min(ch, c-1)
				if bgr && c == 3 {
					src = 2 - ch
				}
				v := 0.5 + float64(delta[(src*h+y)*w+x])/(2*eps)
				rgb[ch] = uint8(math.Round(255 * math.Min(1, math.Max(0, v))))
			}
			img.Set(x, y, color.RGBA{rgb[0], rgb[1], rgb[2], 255})
		}
	}
	return img
}

// parseFraction parses "0.01" or "2/255".
func parseFraction(s string) (float64, error) {
	num, den, ok := strings.Cut(s, "/")
	a, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || !ok {
		return a, err
	}
	b, err := strconv.ParseFloat(strings.TrimSpace(den), 64)
	if err != nil || b == 0 {
		return 0, fmt.Errorf("bad fraction %q", s)
	}
	return a / b, nil
}

// runStyle is neural style transfer.
func runStyle(c *cli, args []string) error {
	fs := newFlags("style")
	var f optFlags
	f.register(fs)
	contentPath := fs.String("content", "", "the content `image` (required)")
	stylePath := fs.String("style", "", "the style `image` (required)")
	contentLayer := fs.String("content-layer", "", "the `layer` whose values keep the content (default: about half-way)")
	styleLayers := fs.String("style-layers", "", "comma-separated `layers` whose Gram matrices carry the style (default: five spread over the first two thirds)")
	contentW := fs.Float64("content-weight", 1, "the `weight` of the content loss")
	styleW := fs.Float64("style-weight", 100, "the `weight` of the style loss")
	images, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *contentPath == "" || *stylePath == "":
		return fmt.Errorf("style: --content IMAGE and --style IMAGE are required")
	case *contentW < 0 || !(*styleW > 0):
		return fmt.Errorf("style: --content-weight must not be negative and --style-weight must be positive")
	}
	m, space, err := f.start("style", images, false)
	if err != nil {
		return err
	}
	content, err := f.in.image(m, *contentPath)
	if err != nil {
		return fmt.Errorf("style: --content: %w", err)
	}
	style, err := f.in.image(m, *stylePath)
	if err != nil {
		return fmt.Errorf("style: --style: %w", err)
	}
	cl, sl := vis.StyleLayers(m)
	if *contentLayer != "" {
		cl = *contentLayer
	}
	if *styleLayers != "" {
		sl = strings.Split(*styleLayers, ",")
		for i := range sl {
			sl[i] = strings.TrimSpace(sl[i])
		}
	}
	if cl == "" || len(sl) == 0 {
		return fmt.Errorf("style: the model has no feature maps to choose layers from; give --content-layer and --style-layers")
	}
	o, err := vis.StyleTransfer(m, space, content, style, cl, sl, *contentW, *styleW)
	if err != nil {
		return fmt.Errorf("style: %w", err)
	}
	f.apply(o)
	ctx, stop := interruptible()
	defer stop()
	res, err := vis.Optimize(ctx, o)
	if err != nil {
		return interrupted("style", err)
	}
	if err := writePNG(f.out, f.in.sidecar.ToImage(res.Images[0])); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s: %s in the style of %s (content %s, style %s)\n", f.out, *contentPath, *stylePath, cl, strings.Join(sl, ","))
	fmt.Fprintf(c.stdout, "%s\n", timing(res.Steps, res.NetTime, res.Elapsed))
	return nil
}
