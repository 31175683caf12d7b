package main

import (
	"context"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/deepscope/deepscope/model"
	"github.com/deepscope/deepscope/vis"
)

// runRender computes one visualization method (or all of them) for a class
// or a unit and writes it as a PNG, and optionally the raw map as .npy.
// With --method all it writes OUT-METHOD.png (and RAW-METHOD.npy) for each
// method plus a labelled contact sheet as OUT.png.
func runRender(c *cli, args []string) error {
	fs := newFlags("render")
	var in inputFlags
	in.register(fs)
	method := fs.String("method", "", "the `method`: "+strings.Join(vis.Names(), ", ")+", or all (required)")
	class := fs.Int("class", 0, "explain the logit of class `C` (the input of a final Softmax)")
	layer := fs.String("layer", "", "explain a unit of the layer `L` (see 'deepscope layers'); needs --unit")
	unit := fs.Int("unit", 0, "the unit (channel) `U` of --layer")
	at := fs.String("at", "", "take --layer's unit only at its strongest position (max) or at one position `Y,X` (default: summed over positions)")
	mode := fs.String("mode", "", "display `mode` of input-space maps: raw, gray, norm or normblur (default: the method's own)")
	colormap := fs.String("colormap", "viridis", "heat-map `colormap`: viridis or jet")
	alpha := fs.Float64("alpha", 0.5, "heat-map opacity `A` over the input, 0..1")
	camLayer := fs.String("cam-layer", "", "the `layer` of gradcam, gradcam++, guided-gradcam and scorecam (default: the last layer with a spatial output)")
	samples := fs.Int("samples", 50, "smoothgrad: the number `N` of noisy samples")
	steps := fs.Int("steps", 50, "ig: the number `N` of integration steps")
	seed := fs.Uint64("seed", 0, "smoothgrad: the noise `seed`")
	patch := fs.Int("patch", 32, "occlusion: the patch side `P` in input pixels")
	stride := fs.Int("stride", 8, "occlusion: the patch stride `S` in input pixels")
	out := fs.String("out", "", "the PNG `file` to write (required; with --method all, the contact sheet)")
	npy := fs.String("npy", "", "also write the raw map, before any display step, as a float32 .npy `file`")
	images, err := c.parse(fs, args)
	if err != nil {
		return err
	}

	var methods []vis.Method
	switch {
	case *method == "":
		return fmt.Errorf("render: --method is required (%s or all)", strings.Join(vis.Names(), ", "))
	case *method == "all":
		methods = vis.Methods()
	default:
		m, err := vis.Lookup(*method)
		if err != nil {
			return fmt.Errorf("render: --method: %w", err)
		}
		methods = []vis.Method{m}
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	switch {
	case given["class"] == given["layer"]:
		return fmt.Errorf("render: give either --class C or --layer L --unit U")
	case given["layer"] && !given["unit"]:
		return fmt.Errorf("render: --layer needs --unit U")
	case given["unit"] && !given["layer"]:
		return fmt.Errorf("render: --unit needs --layer L (for a class, use --class)")
	case given["at"] && !given["layer"]:
		return fmt.Errorf("render: --at applies to --layer targets only")
	case *out == "":
		return fmt.Errorf("render: --out is required")
	case *mode != "" && !slices.Contains(vis.Modes(), *mode):
		return fmt.Errorf("render: --mode %q: want %s", *mode, strings.Join(vis.Modes(), ", "))
	case !(*alpha >= 0 && *alpha <= 1):
		return fmt.Errorf("render: --alpha %g: want a value in 0..1", *alpha)
	case *samples < 1 || *steps < 1:
		return fmt.Errorf("render: --samples and --steps must be at least 1")
	case *patch < 1 || *stride < 1:
		return fmt.Errorf("render: --patch and --stride must be at least 1")
	}
	if _, err := vis.ColormapByName(*colormap); err != nil {
		return fmt.Errorf("render: --colormap: %w", err)
	}
	atMode, atY, atX, err := vis.ParseAt(*at)
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	if err := in.checkInputs("render", images, 1); err != nil {
		return err
	}
	m, err := in.load()
	if err != nil {
		return err
	}
	var target vis.Target
	if given["class"] {
		target, err = vis.ClassTarget(m, *class)
	} else {
		target, err = vis.UnitTarget(m, *layer, *unit, atMode, atY, atX)
	}
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	if *camLayer != "" {
		if _, err := m.Layer(*camLayer); err != nil {
			return fmt.Errorf("render: --cam-layer: %w", err)
		}
	}

	return in.each(m, images, func(name string, x *model.Tensor) error {
		req := &vis.Request{Model: m, Input: x, Target: target, CamLayer: *camLayer,
			Samples: *samples, Steps: *steps, Seed: *seed, Patch: *patch, Stride: *stride}
		style := vis.Style{Mode: *mode, Colormap: *colormap, Alpha: *alpha, BGR: in.sidecar.Input.Color == model.BGR}
		base := in.sidecar.ToImage(x)
		what := target.String()
		if target.Class {
			if label := in.sidecar.Label(target.Unit); label != "" && label != fmt.Sprint(target.Unit) {
				what += " (" + label + ")"
			}
		}
		if len(methods) == 1 {
			mp, err := methods[0].Compute(context.Background(), req)
			if err != nil {
				return fmt.Errorf("render: %s: %w", methods[0].Name(), err)
			}
			return writeMap(c, mp, base, style, *out, *npy, what)
		}
		var tiles []vis.Tile
		if base != nil {
			tiles = append(tiles, vis.Tile{Label: "input", Image: base})
		}
		done := 0
		for _, meth := range methods {
			mp, err := meth.Compute(context.Background(), req)
			if err != nil {
				fmt.Fprintf(c.stdout, "skipped %s: %s\n", meth.Name(), oneLine(err.Error()))
				continue
			}
			npyPath := ""
			if *npy != "" {
				npyPath = withSuffix(*npy, meth.Name())
			}
			img, err := renderMap(mp, base, style)
			if err != nil {
				return err
			}
			if err := writeOutputs(c, mp, img, withSuffix(*out, meth.Name()), npyPath, what); err != nil {
				return err
			}
			tiles = append(tiles, vis.Tile{Label: meth.Name(), Image: img})
			done++
		}
		if done == 0 {
			return fmt.Errorf("render: no method applies to %s", what)
		}
		if err := writePNG(*out, vis.Sheet(tiles, 0)); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "wrote %s: contact sheet of %d methods for %s\n", *out, done, what)
		return nil
	})
}

// renderMap draws a map, naming the method in errors.
func renderMap(mp *vis.Map, base image.Image, style vis.Style) (image.Image, error) {
	img, err := vis.Render(mp, base, style)
	if err != nil {
		return nil, fmt.Errorf("render: %s: %w", mp.Method, err)
	}
	return img, nil
}

// writeMap renders one map and writes its PNG and .npy files.
func writeMap(c *cli, mp *vis.Map, base image.Image, style vis.Style, out, npy, what string) error {
	img, err := renderMap(mp, base, style)
	if err != nil {
		return err
	}
	return writeOutputs(c, mp, img, out, npy, what)
}

// writeOutputs writes a rendered map as PNG and, when npy is set, its raw
// values, and says so on stdout.
func writeOutputs(c *cli, mp *vis.Map, img image.Image, out, npy, what string) error {
	if err := writePNG(out, img); err != nil {
		return err
	}
	desc := fmt.Sprintf("%s of %s, score %.4g", mp.Method, what, mp.Score)
	if mp.Layer != "" {
		desc += " at layer " + mp.Layer
	}
	fmt.Fprintf(c.stdout, "wrote %s: %s\n", out, desc)
	if npy == "" {
		return nil
	}
	if err := model.WriteNPY(npy, mp.Data); err != nil {
		return fmt.Errorf("render: --npy: %w", err)
	}
	fmt.Fprintf(c.stdout, "wrote %s: raw %s map, %s float32\n", npy, mp.Method, shapeString(mp.Data.Shape))
	return nil
}

// writePNG encodes img to path.
func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("render: --out: %w", err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("render: writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("render: writing %s: %w", path, err)
	}
	return nil
}

// withSuffix inserts -suffix before a path's extension: out.png ->
// out-gradcam.png.
func withSuffix(path, suffix string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-" + suffix + ext
}
