package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"

	"github.com/deepscope/deepscope/assets"
	"github.com/deepscope/deepscope/model"
)

// newFlags returns the flag set of a command. Its errors are reported by
// run, its help printed by parse.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses args with flags and positional arguments in any order: the
// standard flag package stops at the first positional argument, so parsing
// resumes after each one ("--" ends the flags). -h prints the command's help
// to stdout and returns flag.ErrHelp.
func (c *cli) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	pos := []string{}
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				c.commandHelp(fs)
				return nil, err
			}
			return nil, fmt.Errorf("%s: %v (see 'deepscope help %s')", fs.Name(), err, fs.Name())
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// commandHelp prints a command's synopsis and flags to stdout.
func (c *cli) commandHelp(fs *flag.FlagSet) {
	if cmd := lookup(fs.Name()); cmd != nil {
		fmt.Fprintf(c.stdout, "Usage: %s\n\n%s.\n", strings.TrimSpace("deepscope "+cmd.name+" "+cmd.args), upperFirst(cmd.summary))
	}
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprint(c.stdout, "\nFlags:\n")
		fs.SetOutput(c.stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// inputFlags are the flags of the commands that run a model on an image or
// on a preprocessed tensor. The preprocessing flags override the model's
// sidecar (<model>.json).
type inputFlags struct {
	model    string
	npy      string
	width    int
	height   int
	color    string
	scale    float64
	mean     floatList
	std      floatList
	resize   string
	labels   string
	fs       *flag.FlagSet
	sidecar  *model.Sidecar
	imagesOK bool // the sidecar has been fitted to the model's input
}

func (f *inputFlags) register(fs *flag.FlagSet) {
	f.fs = fs
	fs.StringVar(&f.model, "model", "", modelFlagHelp+" (required)")
	fs.StringVar(&f.npy, "input-npy", "", "feed this preprocessed float32 .npy `file` instead of an IMAGE")
	fs.IntVar(&f.width, "width", 0, "override the network input `width` of the sidecar")
	fs.IntVar(&f.height, "height", 0, "override the network input `height` of the sidecar")
	fs.StringVar(&f.color, "color", "", "override the input `order`: RGB, BGR or GRAY")
	fs.Float64Var(&f.scale, "scale", 0, "override the `divisor` of 0..255 pixel values")
	fs.Var(&f.mean, "mean", "override the per-channel `means`, comma-separated")
	fs.Var(&f.std, "std", "override the per-channel standard `deviations`, comma-separated")
	fs.StringVar(&f.resize, "resize", "", "override the resize `mode`: stretch, center-crop, short-side-center-crop or short-side-N-center-crop")
	fs.StringVar(&f.labels, "labels", "", "read class names from this `file` (one per line) instead of the sidecar's")
}

// load loads the model and its sidecar, applying the label override.
func (f *inputFlags) load() (*model.Model, error) {
	m, sc, err := loadModelSidecar(f.fs.Name(), f.model)
	if err != nil {
		return nil, err
	}
	f.sidecar = sc
	if f.labels != "" {
		if f.sidecar.LabelNames, err = model.ReadLabels(f.labels); err != nil {
			return nil, fmt.Errorf("--labels: %w", err)
		}
	}
	return m, nil
}

// modelFlagHelp describes the values --model takes.
const modelFlagHelp = "the `model`: an ONNX file, the name of a downloaded catalog or shared model (see 'deepscope models list'), or " + assets.DemoSpec + " (the embedded Fashion-MNIST network)"

// loadModel loads the model a --model value names (see loadModelSidecar).
func loadModel(cmd, spec string) (*model.Model, error) {
	m, _, err := loadModelSidecar(cmd, spec)
	return m, err
}

// loadModelSidecar loads the model a --model value names, with its
// sidecar: a file, a catalog or shared model's name (model.ResolveModel)
// or the embedded demo network.
func loadModelSidecar(cmd, spec string) (*model.Model, *model.Sidecar, error) {
	if spec == "" {
		return nil, nil, fmt.Errorf("%s: --model is required", cmd)
	}
	m, sc, _, err := assets.OpenModel(spec)
	return m, sc, err
}

// checkInputs checks that exactly one of IMAGE arguments (at most max of
// them, 0 for any number) and --input-npy is given.
func (f *inputFlags) checkInputs(cmd string, images []string, max int) error {
	switch {
	case f.npy != "" && len(images) > 0:
		return fmt.Errorf("%s: give IMAGE arguments or --input-npy, not both", cmd)
	case f.npy == "" && len(images) == 0:
		return fmt.Errorf("%s: no input: give an IMAGE or --input-npy X.npy (see 'deepscope help %s')", cmd, cmd)
	case max > 0 && len(images) > max:
		return fmt.Errorf("%s: %d images given, want %d", cmd, len(images), max)
	}
	return nil
}

// each calls fn with the network input for every image, or for the
// --input-npy tensor (named by its file).
func (f *inputFlags) each(m *model.Model, images []string, fn func(name string, x *model.Tensor) error) error {
	if f.npy != "" {
		x, err := f.readNPY(m)
		if err != nil {
			return err
		}
		return fn(f.npy, x)
	}
	for _, path := range images {
		x, err := f.image(m, path)
		if err != nil {
			return err
		}
		if err := fn(path, x); err != nil {
			return err
		}
	}
	return nil
}

// image decodes and preprocesses one image.
func (f *inputFlags) image(m *model.Model, path string) (*model.Tensor, error) {
	if !f.imagesOK {
		if err := f.fitSidecar(m); err != nil {
			return nil, err
		}
		f.imagesOK = true
	}
	img, err := model.DecodeImage(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("image %s does not exist", path)
	}
	if err != nil {
		return nil, err
	}
	return f.sidecar.Preprocess(img), nil
}

// fitSidecar fits the sidecar to the model's input, then applies the
// preprocessing flags that were given.
func (f *inputFlags) fitSidecar(m *model.Model) error {
	sc := f.sidecar
	if err := sc.FitInput(m.Input().Shape); err != nil {
		return err
	}
	in := &sc.Input
	f.fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "width":
			in.Width = f.width
		case "height":
			in.Height = f.height
		case "color":
			in.Color = f.color
		case "scale":
			in.Scale = f.scale
		case "mean":
			in.Mean = f.mean
		case "std":
			in.Std = f.std
		case "resize":
			in.Resize = f.resize
		}
	})
	if err := sc.Validate(); err != nil {
		return fmt.Errorf("preprocessing flags: %w", err)
	}
	return nil
}

// readNPY reads --input-npy and checks it against the model's input shape,
// adding the batch dimension when it is missing.
func (f *inputFlags) readNPY(m *model.Model) (*model.Tensor, error) {
	x, err := model.ReadNPY(f.npy)
	if err != nil {
		return nil, fmt.Errorf("--input-npy: %w", err)
	}
	in := m.Input()
	if x.DType != in.DType {
		return nil, fmt.Errorf("--input-npy %s holds %s values; the model's input %q is %s", f.npy, x.DType, in.Name, in.DType)
	}
	want := in.Shape
	if len(x.Shape) == len(want)-1 && len(want) > 0 && want[0] == 1 && model.SameShape(x.Shape, want[1:]) {
		x.Shape = append([]int{1}, x.Shape...)
	}
	if !model.SameShape(x.Shape, want) {
		alt := ""
		if len(want) > 0 && want[0] == 1 {
			alt = " or " + model.ShapeString(want[1:])
		}
		return nil, fmt.Errorf("--input-npy %s has shape %s; the model's input %q wants %s%s",
			f.npy, model.ShapeString(x.Shape), in.Name, model.ShapeString(want), alt)
	}
	return x, nil
}

// floatList is a comma-separated list of numbers given as one flag value.
type floatList []float64

func (l *floatList) String() string {
	if l == nil {
		return ""
	}
	s := make([]string, len(*l))
	for i, v := range *l {
		s[i] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strings.Join(s, ",")
}

func (l *floatList) Set(v string) error {
	var out []float64
	for _, p := range strings.Split(v, ",") {
		x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", p)
		}
		out = append(out, x)
	}
	*l = out
	return nil
}
