package vis

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/deepscope/deepscope/model"
)

// Randomization is the result of the model-parameter randomization test:
// one row per cascade depth, one column per method.
type Randomization struct {
	// Methods are the methods compared, in the order of the columns.
	Methods []string
	// Layers[k] is the layer whose parameters row k randomizes in addition
	// to those of rows 0 .. k-1 (top layer first).
	Layers []string
	// Abs[k][j] and Signed[k][j] are Spearman's rank correlation between
	// method j's map of the trained model and of the model randomized down
	// to Layers[k], over the absolute and the signed values (NaN when
	// either map is constant or the method failed on the randomized model).
	Abs, Signed [][]float64
	// Errs[k][j] is why method j failed at depth k (nil when it did not).
	Errs [][]error
}

// RandomizationOptions tune ModelRandomization. Zero values select the
// defaults.
type RandomizationOptions struct {
	// Layers are the layers to randomize cumulatively, in this order
	// (CascadeLayers by default).
	Layers []string
	// Seed seeds the random weights (see model.Model.WithRandomWeights).
	Seed uint64
	// Progress, when set, is called after each map with the number of
	// maps computed and the total.
	Progress func(done, total int)
}

// CascadeLayers returns the order in which the cascading randomization
// test randomizes a model for a target: the layers with learned parameters
// (model.Model.ParamLayers) up to and including the target's layer, from
// the top (the logits) down to the first convolution, that is in reverse
// topological order. Parameters after the target's layer cannot change its
// maps and are left out.
func CascadeLayers(m *model.Model, t Target) []string {
	end := layerIndex(m, t.Layer)
	if end < 0 {
		end = len(m.Layers) - 1
	}
	var out []string
	for _, l := range m.ParamLayers() {
		if i := layerIndex(m, l.Name); i >= 0 && i <= end {
			out = append(out, l.Name)
		}
	}
	slices.Reverse(out)
	return out
}

// ModelRandomization runs the model-parameter randomization sanity check
// of Adebayo, Gilmer, Muelly, Goodfellow, Hardt & Kim 2018 ("Sanity Checks
// for Saliency Maps") in its cascading form: the parameters of the layers
// are replaced by random values (Gaussian, of each tensor's original
// standard deviation) from the top layer down, one more layer per row, and
// each method's map of the randomized model is compared with its map of
// the trained model by Spearman's rank correlation
//
//	ρ = corr(rank(e), rank(e'))
//
// over the map's values (per input pixel, see sanityValues), both of their
// absolute values (as in the paper's figures) and of the signed values. A
// method that explains what the network learned must change as its
// weights are destroyed (ρ falls towards 0); one whose maps stay put
// (ρ near 1) mostly shows the input and the architecture, as the paper
// finds for guided backpropagation and guided Grad-CAM; the deconvnet,
// whose backward ReLU ignores the forward pass, behaves alike.
//
// Methods that fail on the trained model are left out of the result; each
// map is computed with r's settings on a copy of r whose Model is the
// randomized one. Cancelling ctx stops at the next map (or forward pass).
func ModelRandomization(ctx context.Context, r *Request, methods []Method, opt RandomizationOptions) (*Randomization, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	layers := opt.Layers
	if layers == nil {
		layers = CascadeLayers(r.Model, r.Target)
	}
	if len(layers) == 0 {
		return nil, fmt.Errorf("sanity check: model %s has no layers with learned parameters below %s", r.Model.Name, r.Target.Layer)
	}
	res := &Randomization{Layers: slices.Clone(layers)}
	done, total := 0, len(methods)*(len(layers)+1)
	tick := func() {
		done++
		if opt.Progress != nil {
			opt.Progress(done, total)
		}
	}
	var orig [][2][]float64 // per kept method: abs and signed values
	var kept []Method
	for _, meth := range methods {
		mp, err := meth.Compute(ctx, r)
		tick()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			continue
		}
		abs, signed, err := sanityValues(mp)
		if err != nil {
			continue
		}
		kept = append(kept, meth)
		res.Methods = append(res.Methods, meth.Name())
		orig = append(orig, [2][]float64{abs, signed})
	}
	total = len(kept) * (len(layers) + 1)
	done = len(kept)
	if len(kept) == 0 {
		return nil, fmt.Errorf("sanity check: none of the methods applies to %s", r.Target)
	}
	for k := range layers {
		rm, err := r.Model.WithRandomWeights(layers[:k+1], opt.Seed)
		if err != nil {
			return nil, fmt.Errorf("sanity check: %w", err)
		}
		rr := *r
		rr.Model = rm
		rr.Progress = nil
		absRow, signedRow := make([]float64, len(kept)), make([]float64, len(kept))
		errRow := make([]error, len(kept))
		for j, meth := range kept {
			mp, err := meth.Compute(ctx, &rr)
			tick()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			var abs, signed []float64
			if err == nil {
				abs, signed, err = sanityValues(mp)
			}
			if err != nil {
				absRow[j], signedRow[j], errRow[j] = math.NaN(), math.NaN(), err
				continue
			}
			absRow[j] = Spearman(orig[j][0], abs)
			signedRow[j] = Spearman(orig[j][1], signed)
		}
		res.Abs = append(res.Abs, absRow)
		res.Signed = append(res.Signed, signedRow)
		res.Errs = append(res.Errs, errRow)
	}
	return res, nil
}

// sanityValues returns the values the sanity check compares: per input
// pixel, max over channels of |v| (abs) and the sum over channels of v
// (signed) for an InputMap; |v| and v on the map's own grid for a HeatMap.
func sanityValues(m *Map) (abs, signed []float64, err error) {
	if m == nil || m.Data == nil || len(m.Data.Data) == 0 {
		return nil, nil, fmt.Errorf("sanity check: empty map")
	}
	d := m.Data
	if m.Kind == InputMap {
		if d.Rank() != 3 {
			return nil, nil, fmt.Errorf("sanity check: %s input map is %v, want C x H x W", m.Method, d)
		}
		hw := d.Shape[1] * d.Shape[2]
		abs, signed = make([]float64, hw), make([]float64, hw)
		for c := range d.Shape[0] {
			for i, v := range d.Data[c*hw : (c+1)*hw] {
				abs[i] = math.Max(abs[i], math.Abs(float64(v)))
				signed[i] += float64(v)
			}
		}
		return abs, signed, nil
	}
	abs, signed = make([]float64, len(d.Data)), make([]float64, len(d.Data))
	for i, v := range d.Data {
		abs[i], signed[i] = math.Abs(float64(v)), float64(v)
	}
	return abs, signed, nil
}

// Spearman returns Spearman's rank correlation coefficient of a and b:
// Pearson's correlation of their ranks, tied values sharing their average
// rank. It is NaN when the lengths differ, there are fewer than two
// values, either is constant or either holds a NaN.
func Spearman(a, b []float64) float64 {
	if len(a) != len(b) || len(a) < 2 {
		return math.NaN()
	}
	ra, rb := ranks(a), ranks(b)
	if ra == nil || rb == nil {
		return math.NaN()
	}
	mean := float64(len(a)+1) / 2 // ranks 1..n average (n+1)/2, ties or not
	var sab, saa, sbb float64
	for i := range ra {
		da, db := ra[i]-mean, rb[i]-mean
		sab += da * db
		saa += da * da
		sbb += db * db
	}
	if saa == 0 || sbb == 0 {
		return math.NaN()
	}
	return sab / math.Sqrt(saa*sbb)
}

// ranks returns the 1-based ranks of v, ties getting their average rank,
// or nil when v holds a NaN.
func ranks(v []float64) []float64 {
	idx := make([]int, len(v))
	for i := range idx {
		if math.IsNaN(v[i]) {
			return nil
		}
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(v[a], v[b]) })
	out := make([]float64, len(v))
	for lo := 0; lo < len(idx); {
		hi := lo + 1
		for hi < len(idx) && v[idx[hi]] == v[idx[lo]] {
			hi++
		}
		avg := float64(lo+hi+1) / 2 // ranks lo+1 .. hi
		for _, i := range idx[lo:hi] {
			out[i] = avg
		}
		lo = hi
	}
	return out
}
