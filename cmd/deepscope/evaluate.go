package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/deepscope/deepscope/model"
	"github.com/deepscope/deepscope/vis"
)

const evaluateArgs = "--model M.onnx --method NAME[,NAME...]|all --class C [--steps 32] [--curves=false] [--sanity=false] [--depth N] IMAGE... | --input-npy X.npy"

// evalSettings are the method settings of evaluate: cheaper than render's
// defaults so that every method fits in a run.
type evalSettings struct {
	samples, igSteps, patch, stride int
	camLayer                        string
	seed                            uint64
}

// runEvaluate scores attribution methods on images: deletion and insertion
// AUC (with a random-map baseline) and the cascading model-parameter
// randomization sanity check, printed as tables per image and, for several
// images, their means.
func runEvaluate(c *cli, args []string) error {
	fs := newFlags("evaluate")
	var in inputFlags
	in.register(fs)
	method := fs.String("method", "", "the `method`: "+strings.Join(vis.Names(), ", ")+", a comma-separated list of them, or all (required)")
	class := fs.Int("class", 0, "explain the logit of class `C` (required); curves record its softmax probability")
	steps := fs.Int("steps", vis.DefaultCurveSteps, "deletion/insertion: the number `K` of steps of each curve (K+1 forward passes each)")
	curves := fs.Bool("curves", true, "compute the deletion and insertion curves")
	sanity := fs.Bool("sanity", true, "run the cascading model-parameter randomization check")
	depth := fs.Int("depth", 0, "sanity: randomize only the top `N` layers with parameters (0: all of them)")
	seed := fs.Uint64("seed", 0, "the `seed` of the random weights, the random-map baseline and smoothgrad's noise")
	var set evalSettings
	fs.StringVar(&set.camLayer, "cam-layer", "", "the `layer` of gradcam, gradcam++, guided-gradcam and scorecam (default: the last layer with a spatial output)")
	fs.IntVar(&set.samples, "samples", 10, "smoothgrad: the number `N` of noisy samples")
	fs.IntVar(&set.igSteps, "ig-steps", 16, "ig: the number `N` of integration steps")
	fs.IntVar(&set.patch, "patch", 32, "occlusion: the patch side `P` in input pixels")
	fs.IntVar(&set.stride, "stride", 16, "occlusion: the patch stride `S` in input pixels")
	maxPasses := fs.Int("max-passes", 256, "with --method all, skip methods whose map takes more than `N` forward passes (scorecam on a 1000-channel layer, fine occlusion)")
	sanityPasses := fs.Int("sanity-max-passes", 64, "with --method all, leave out of the sanity check methods whose map takes more than `N` forward passes (it recomputes each map once per layer)")
	images, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	set.seed = *seed
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	switch {
	case *method == "":
		return fmt.Errorf("evaluate: --method is required (%s or all)", strings.Join(vis.Names(), ", "))
	case !given["class"]:
		return fmt.Errorf("evaluate: --class C is required")
	case *steps < 1:
		return fmt.Errorf("evaluate: --steps must be at least 1, got %d", *steps)
	case *depth < 0:
		return fmt.Errorf("evaluate: --depth must not be negative, got %d", *depth)
	case set.samples < 1 || set.igSteps < 1 || set.patch < 1 || set.stride < 1:
		return fmt.Errorf("evaluate: --samples, --ig-steps, --patch and --stride must be at least 1")
	case !*curves && !*sanity:
		return fmt.Errorf("evaluate: nothing to do with --curves=false and --sanity=false")
	}
	var methods []vis.Method
	if *method == "all" {
		methods = vis.Methods()
	} else {
		for _, name := range strings.Split(*method, ",") {
			m, err := vis.Lookup(strings.TrimSpace(name))
			if err != nil {
				return fmt.Errorf("evaluate: --method: %w", err)
			}
			methods = append(methods, m)
		}
	}
	if err := in.checkInputs("evaluate", images, 0); err != nil {
		return err
	}
	m, err := in.load()
	if err != nil {
		return err
	}
	target, err := vis.ClassTarget(m, *class)
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	if set.camLayer != "" {
		if _, err := m.Layer(set.camLayer); err != nil {
			return fmt.Errorf("evaluate: --cam-layer: %w", err)
		}
	}
	layers := vis.CascadeLayers(m, target)
	if *depth > 0 && *depth < len(layers) {
		layers = layers[:*depth]
	}
	what := target.String()
	if label := in.sidecar.Label(target.Unit); label != "" && label != fmt.Sprint(target.Unit) {
		what += " (" + label + ")"
	}
	ctx, stop := interruptible()
	defer stop()

	sum := newEvalSums()
	n := 0
	err = in.each(m, images, func(name string, x *model.Tensor) error {
		req := set.request(m, x, target)
		probs, err := classProbs(m, x, endsInSoftmax(m, m.Output()))
		if err != nil {
			return fmt.Errorf("evaluate: %w", err)
		}
		fmt.Fprintf(c.stdout, "== %s: %s, probability %.4f\n", name, what, probs[target.Unit])
		// within returns the methods whose map takes at most limit forward
		// passes (all named ones unless --method all), telling of the rest.
		within := func(limit int, left func(name string, passes int)) []vis.Method {
			var use []vis.Method
			for _, meth := range methods {
				if p := set.passes(req, meth.Name()); *method == "all" && p > limit {
					left(meth.Name(), p)
					continue
				}
				use = append(use, meth)
			}
			return use
		}
		if *curves {
			use := within(*maxPasses, func(name string, p int) {
				fmt.Fprintf(c.stdout, "skipped %s: its map takes %d forward passes (> --max-passes %d); name it with --method to run it\n", name, p, *maxPasses)
			})
			if err := evalCurves(ctx, c.stdout, req, use, *steps, set.seed, what, sum); err != nil {
				return interrupted("evaluate", err)
			}
		}
		if *sanity {
			use := within(*sanityPasses, func(name string, p int) {
				fmt.Fprintf(c.stdout, "left out of the sanity check: %s (%d forward passes per map > --sanity-max-passes %d)\n", name, p, *sanityPasses)
			})
			if err := evalSanity(ctx, c.stdout, req, use, layers, set.seed, sum); err != nil {
				return interrupted("evaluate", err)
			}
		}
		n++
		return nil
	})
	if err != nil {
		return err
	}
	if n > 1 {
		fmt.Fprintf(c.stdout, "== mean over %d inputs: %s\n", n, what)
		sum.print(c.stdout, n)
	}
	return nil
}

// request is the vis request of one input with evaluate's settings.
func (s evalSettings) request(m *model.Model, x *model.Tensor, t vis.Target) *vis.Request {
	return &vis.Request{Model: m, Input: x, Target: t, CamLayer: s.camLayer, Samples: s.samples,
		Steps: s.igSteps, Seed: s.seed, Patch: s.patch, Stride: s.stride}
}

// passes estimates the forward passes one map of the method takes.
func (s evalSettings) passes(r *vis.Request, method string) int {
	h, w := r.Input.Shape[2], r.Input.Shape[3]
	switch method {
	case "smoothgrad":
		return s.samples
	case "ig":
		return s.igSteps
	case "occlusion":
		ph, pw := min(s.patch, h), min(s.patch, w)
		return ((h-ph)/s.stride + 1) * ((w-pw)/s.stride + 1)
	case "scorecam":
		layer := s.camLayer
		if layer == "" {
			layer, _ = vis.DefaultCamLayer(r.Model, r.Target)
		}
		if l, err := r.Model.Layer(layer); err == nil && len(l.Shape) > 1 {
			return l.Shape[1]
		}
	}
	return 1
}

// evalCurves prints the deletion and insertion AUC of each method's map and
// of a random map.
func evalCurves(ctx context.Context, w io.Writer, r *vis.Request, methods []vis.Method, steps int, seed uint64, what string, sum *evalSums) error {
	fmt.Fprintf(w, "Deletion and insertion AUC (Petsiuk et al. 2018), %d steps, probability of %s; lower deletion and higher insertion are better:\n", steps, what)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "METHOD\tDELETION\tINSERTION\tMAP SECONDS")
	opt := vis.CurveOptions{Steps: steps}
	for _, meth := range methods {
		start := time.Now()
		mp, err := meth.Compute(ctx, r)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var sal []float32
		if err == nil {
			sal, err = vis.PixelSaliency(mp)
		}
		if err != nil {
			fmt.Fprintf(tw, "%s\tskipped: %s\t\t\n", meth.Name(), oneLine(err.Error()))
			continue
		}
		secs := time.Since(start).Seconds()
		cv, err := r.DeletionInsertion(ctx, sal, opt)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.1f\n", meth.Name(), cv.DeletionAUC, cv.InsertionAUC, secs)
		sum.addCurve(meth.Name(), cv)
	}
	h, wd := r.Input.Shape[2], r.Input.Shape[3]
	cv, err := r.DeletionInsertion(ctx, vis.RandomSaliency(h, wd, seed), opt)
	if err != nil {
		return err
	}
	fmt.Fprintf(tw, "random\t%.4f\t%.4f\t\n", cv.DeletionAUC, cv.InsertionAUC)
	sum.addCurve("random", cv)
	return tw.Flush()
}

// evalSanity prints the cascading randomization check's Spearman tables.
func evalSanity(ctx context.Context, w io.Writer, r *vis.Request, methods []vis.Method, layers []string, seed uint64, sum *evalSums) error {
	if len(methods) == 0 {
		return nil
	}
	res, err := vis.ModelRandomization(ctx, r, methods, vis.RandomizationOptions{Layers: layers, Seed: seed})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Model-parameter randomization (Adebayo et al. 2018), cascading from the top layer, seed %d:\n", seed)
	for _, name := range methodsMissing(methods, res.Methods) {
		fmt.Fprintf(w, "left out of the sanity check: %s (it does not apply to this model)\n", name)
	}
	for i, signed := range []bool{false, true} {
		tab := res.Abs
		if signed {
			tab = res.Signed
		}
		printSanity(w, res.Methods, res.Layers, signed, func(k, j int) (float64, int) {
			if math.IsNaN(tab[k][j]) {
				return 0, 0
			}
			return tab[k][j], 1
		})
		sum.addSanity(i, res.Methods, res.Layers, tab)
	}
	return nil
}

// printSanity prints one Spearman table; cell returns a row's value and
// how many values it averages (0: none).
func printSanity(w io.Writer, methods, layers []string, signed bool, cell func(k, j int) (float64, int)) {
	if signed {
		fmt.Fprintln(w, "Spearman rank correlation of the signed map (sum over channels) with the trained model's:")
	} else {
		fmt.Fprintln(w, "Spearman rank correlation of |map| (max over channels) with the trained model's; rows randomize one more layer each:")
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "RANDOMIZED DOWN TO\t")
	for _, m := range methods {
		fmt.Fprintf(tw, "%s\t", m)
	}
	fmt.Fprintln(tw)
	for k, l := range layers {
		fmt.Fprintf(tw, "%s\t", l)
		for j := range methods {
			v, n := cell(k, j)
			if n == 0 {
				fmt.Fprint(tw, "n/a\t")
			} else {
				fmt.Fprintf(tw, "%.3f\t", v)
			}
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// methodsMissing lists the names of methods not in kept.
func methodsMissing(methods []vis.Method, kept []string) []string {
	var out []string
	for _, m := range methods {
		found := false
		for _, k := range kept {
			found = found || k == m.Name()
		}
		if !found {
			out = append(out, m.Name())
		}
	}
	return out
}

// evalSums accumulates results over inputs for the mean tables.
type evalSums struct {
	curveOrder []string
	del, ins   map[string]float64
	count      map[string]int
	methods    []string
	layers     []string
	// sanity[signed][layer][method] = sum and count of finite ρ
	sanity [2]map[string]map[string][2]float64
}

func newEvalSums() *evalSums {
	return &evalSums{del: map[string]float64{}, ins: map[string]float64{}, count: map[string]int{},
		sanity: [2]map[string]map[string][2]float64{{}, {}}}
}

func (s *evalSums) addCurve(name string, cv *vis.Curves) {
	if s.count[name] == 0 {
		s.curveOrder = append(s.curveOrder, name)
	}
	s.del[name] += cv.DeletionAUC
	s.ins[name] += cv.InsertionAUC
	s.count[name]++
}

func (s *evalSums) addSanity(signed int, methods, layers []string, tab [][]float64) {
	add := func(list *[]string, name string) {
		for _, x := range *list {
			if x == name {
				return
			}
		}
		*list = append(*list, name)
	}
	for _, m := range methods {
		add(&s.methods, m)
	}
	for _, l := range layers {
		add(&s.layers, l)
	}
	for k, l := range layers {
		if s.sanity[signed][l] == nil {
			s.sanity[signed][l] = map[string][2]float64{}
		}
		for j, m := range methods {
			if v := tab[k][j]; !math.IsNaN(v) {
				c := s.sanity[signed][l][m]
				s.sanity[signed][l][m] = [2]float64{c[0] + v, c[1] + 1}
			}
		}
	}
}

// print writes the mean tables over n inputs.
func (s *evalSums) print(w io.Writer, n int) {
	if len(s.curveOrder) > 0 {
		fmt.Fprintln(w, "Mean deletion and insertion AUC:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "METHOD\tDELETION\tINSERTION\tINPUTS")
		for _, name := range s.curveOrder {
			k := float64(s.count[name])
			fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%d\n", name, s.del[name]/k, s.ins[name]/k, s.count[name])
		}
		tw.Flush()
	}
	if len(s.methods) > 0 {
		fmt.Fprintf(w, "Mean Spearman correlations over the inputs where they are defined:\n")
		for i := range 2 {
			printSanity(w, s.methods, s.layers, i == 1, func(k, j int) (float64, int) {
				c := s.sanity[i][s.layers[k]][s.methods[j]]
				if c[1] == 0 {
					return 0, 0
				}
				return c[0] / c[1], int(c[1])
			})
		}
	}
}
