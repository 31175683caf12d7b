package index

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"time"

	"golang.org/x/image/draw"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"

	"github.com/deepscope/deepscope/model"
)

// EmbedOptions configure Embed.
type EmbedOptions struct {
	Model   *model.Model
	Sidecar *model.Sidecar // fitted to the model's input
	// Layer gives the features: a spatial layer is averaged over its
	// positions (one value per channel), a 1 x C layer taken as it is.
	Layer string
	// Source is a folder of images or a video file.
	Source string
	// Every takes every n-th frame of a video (default 1).
	Every int
	// Perplexity of t-SNE (default 30, at most (images-1)/3).
	Perplexity float64
	// Iterations of t-SNE (default 1000).
	Iterations int
	Seed       uint64
	// Size is the picture's side and Thumb each image's side in pixels
	// (defaults 2000 and 64).
	Size, Thumb int
	// Progress is called as images are read (phase "features") and as
	// t-SNE iterates (phase "tsne").
	Progress func(Progress)
}

// Embedding is the t-SNE layout of a set of images.
type Embedding struct {
	Names []string
	// Points are the images' positions, scaled to [0, 1] x [0, 1].
	Points  [][2]float64
	Skipped []Skip
	// Image shows every image as a thumbnail at its position, on black
	// (Karpathy's "t-SNE of CNN codes").
	Image *image.RGBA
}

// Embed lays images out by the similarity of a layer's features: their
// features are reduced to at most 50 dimensions by PCA (gonum), then laid
// out in the plane by exact t-SNE (van der Maaten & Hinton 2008: Gaussian
// affinities of the given perplexity, Student-t affinities in the plane,
// gradient descent on their KL divergence with momentum, adaptive gains
// and early exaggeration), so that images the layer finds alike end up
// close together.
func Embed(ctx context.Context, opt EmbedOptions) (*Embedding, error) {
	if opt.Model == nil || opt.Sidecar == nil {
		return nil, fmt.Errorf("embed: the options need a model and a sidecar")
	}
	l, err := opt.Model.Layer(opt.Layer)
	if err != nil {
		return nil, err
	}
	if l.DType != model.Float32 || (len(l.Shape) != 4 && len(l.Shape) != 2) || l.Shape[0] != 1 {
		return nil, fmt.Errorf("embed: layer %s has shape %s; want 1 x C x H x W or 1 x C", l.Name, model.ShapeString(l.Shape))
	}
	if opt.Size <= 0 {
		opt.Size = 2000
	}
	if opt.Thumb <= 0 {
		opt.Thumb = 64
	}
	src, err := openSource(opt.Source, opt.Every)
	if err != nil {
		return nil, err
	}
	emb := &Embedding{}
	var feats [][]float64
	var thumbs []image.Image
	total := len(src.files)
	prog := &progress{fn: opt.Progress, phase: "features", total: total, start: time.Now()}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n := 0
	for d := range src.read(rctx, 0, func(int) bool { return true }, opt.Sidecar.Preprocess) {
		if d.it.pos < 0 {
			return nil, d.err
		}
		n++
		if d.err != nil {
			emb.Skipped = append(emb.Skipped, Skip{Image: d.it.key, Error: d.err.Error()})
			prog.report(n, len(emb.Skipped), false)
			continue
		}
		a, err := opt.Model.Run(d.x)
		if err != nil {
			return nil, err
		}
		v, err := a.Get(l.Name)
		if err != nil {
			a.Release()
			return nil, err
		}
		feats = append(feats, poolFeatures(v))
		a.Release()
		thumb := image.NewRGBA(image.Rect(0, 0, opt.Thumb, opt.Thumb))
		view := opt.Sidecar.ToImage(d.x)
		draw.ApproxBiLinear.Scale(thumb, thumb.Rect, view, view.Bounds(), draw.Src, nil)
		thumbs = append(thumbs, thumb)
		emb.Names = append(emb.Names, d.it.key)
		prog.report(n, len(emb.Skipped), false)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	prog.total = n
	prog.report(n, len(emb.Skipped), true)
	if len(feats) < 2 {
		return nil, fmt.Errorf("embed: %d readable images in %s; t-SNE needs at least 2", len(feats), opt.Source)
	}
	x := pca(feats, 50)
	iters := opt.Iterations
	if iters <= 0 {
		iters = 1000
	}
	perp := opt.Perplexity
	if perp <= 0 {
		perp = 30
	}
	perp = max(1, min(perp, float64(len(feats)-1)/3))
	tprog := &progress{fn: opt.Progress, phase: "tsne", total: iters, start: time.Now()}
	y, err := tsne(ctx, x, perp, iters, opt.Seed, func(i int) { tprog.report(i, 0, i == iters) })
	if err != nil {
		return nil, err
	}
	emb.Points = normalize(y)
	emb.Image = image.NewRGBA(image.Rect(0, 0, opt.Size, opt.Size))
	draw.Draw(emb.Image, emb.Image.Rect, image.NewUniform(color.Black), image.Point{}, draw.Src)
	span := float64(opt.Size - opt.Thumb)
	for i, p := range emb.Points {
		at := image.Pt(int(p[0]*span), int(p[1]*span))
		draw.Draw(emb.Image, image.Rectangle{at, at.Add(image.Pt(opt.Thumb, opt.Thumb))}, thumbs[i], image.Point{}, draw.Src)
	}
	return emb, nil
}

// poolFeatures averages a [1, C, H, W] value over positions (a [1, C]
// value is copied).
func poolFeatures(v *model.Tensor) []float64 {
	c, hw := v.Shape[1], 1
	if v.Rank() == 4 {
		hw = v.Shape[2] * v.Shape[3]
	}
	out := make([]float64, c)
	for ch := range c {
		s := 0.0
		for _, f := range v.Data[ch*hw : (ch+1)*hw] {
			s += float64(f)
		}
		out[ch] = s / float64(hw)
	}
	return out
}

// pca projects the rows of feats (centred) on their first k principal
// components (fewer when there are fewer rows or columns).
func pca(feats [][]float64, k int) [][]float64 {
	n, d := len(feats), len(feats[0])
	a := mat.NewDense(n, d, nil)
	for i, f := range feats {
		a.SetRow(i, f)
	}
	k = min(k, d, n-1)
	var pc stat.PC
	if k < 1 || !pc.PrincipalComponents(a, nil) {
		return feats // degenerate: use the raw features
	}
	var vecs mat.Dense
	pc.VectorsTo(&vecs)
	// Centre, then project.
	for j := range d {
		mean := 0.0
		for i := range n {
			mean += a.At(i, j)
		}
		mean /= float64(n)
		for i := range n {
			a.Set(i, j, a.At(i, j)-mean)
		}
	}
	var proj mat.Dense
	proj.Mul(a, vecs.Slice(0, d, 0, k))
	out := make([][]float64, n)
	for i := range out {
		out[i] = mat.Row(nil, i, &proj)
	}
	return out
}

// tsne returns the 2-D t-SNE layout of the rows of x.
func tsne(ctx context.Context, x [][]float64, perplexity float64, iters int, seed uint64, progress func(int)) ([][2]float64, error) {
	n := len(x)
	p := affinities(x, perplexity)
	r := rand.New(rand.NewPCG(seed, 0x7453_4e45))
	y := make([][2]float64, n)
	for i := range y {
		y[i] = [2]float64{r.NormFloat64() * 1e-4, r.NormFloat64() * 1e-4}
	}
	vel := make([][2]float64, n)
	gains := make([][2]float64, n)
	for i := range gains {
		gains[i] = [2]float64{1, 1}
	}
	num := make([]float64, n*n)
	grad := make([][2]float64, n)
	// Step size n/12 (Belkina et al. 2019): larger steps overshoot while
	// the early exaggeration pulls clusters together.
	eta := max(float64(n)/12, 1)
	const exaggeration, exIters = 12.0, 250
	for it := range iters {
		if it%10 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			progress(it)
		}
		// Student-t kernel in the plane.
		sum := 0.0
		for i := range n {
			for j := i + 1; j < n; j++ {
				dx, dy := y[i][0]-y[j][0], y[i][1]-y[j][1]
				q := 1 / (1 + dx*dx + dy*dy)
				num[i*n+j], num[j*n+i] = q, q
				sum += 2 * q
			}
		}
		ex := 1.0
		if it < exIters {
			ex = exaggeration
		}
		for i := range n {
			var g [2]float64
			for j := range n {
				if i == j {
					continue
				}
				q := num[i*n+j]
				f := (ex*p[i*n+j] - q/sum) * q
				g[0] += f * (y[i][0] - y[j][0])
				g[1] += f * (y[i][1] - y[j][1])
			}
			grad[i] = [2]float64{4 * g[0], 4 * g[1]}
		}
		mom := 0.5
		if it >= exIters {
			mom = 0.8
		}
		var mean [2]float64
		for i := range n {
			for d := range 2 {
				if (grad[i][d] > 0) != (vel[i][d] > 0) {
					gains[i][d] += 0.2
				} else {
					gains[i][d] *= 0.8
				}
				gains[i][d] = max(gains[i][d], 0.01)
				vel[i][d] = mom*vel[i][d] - eta*gains[i][d]*grad[i][d]
				y[i][d] += vel[i][d]
				mean[d] += y[i][d]
			}
		}
		for i := range n {
			y[i][0] -= mean[0] / float64(n)
			y[i][1] -= mean[1] / float64(n)
		}
	}
	progress(iters)
	return y, nil
}

// affinities returns the symmetric t-SNE input affinities P (n x n, summing
// to 1): each row's Gaussian bandwidth is found by bisection so that its
// conditional distribution has the given perplexity.
func affinities(x [][]float64, perplexity float64) []float64 {
	n := len(x)
	d2 := make([]float64, n*n)
	for i := range n {
		for j := i + 1; j < n; j++ {
			s := 0.0
			for k := range x[i] {
				v := x[i][k] - x[j][k]
				s += v * v
			}
			d2[i*n+j], d2[j*n+i] = s, s
		}
	}
	target := math.Log(perplexity)
	p := make([]float64, n*n)
	row := make([]float64, n)
	for i := range n {
		lo, hi, beta := 0.0, math.Inf(1), 1.0
		// Scale by the row's nearest distance so bisection starts sane.
		minD := math.Inf(1)
		for j := range n {
			if j != i && d2[i*n+j] > 0 {
				minD = min(minD, d2[i*n+j])
			}
		}
		if !math.IsInf(minD, 1) {
			beta = 1 / minD
		}
		for range 100 {
			sum, h := 0.0, 0.0
			for j := range n {
				row[j] = 0
				if j != i {
					row[j] = math.Exp(-beta * (d2[i*n+j] - minD))
					sum += row[j]
				}
			}
			if sum == 0 {
				sum = 1e-300
			}
			for j := range n {
				if row[j] > 0 {
					pj := row[j] / sum
					h -= pj * math.Log(pj)
				}
			}
			if math.Abs(h-target) < 1e-5 {
				break
			}
			if h > target { // too flat: narrow
				lo = beta
				if math.IsInf(hi, 1) {
					beta *= 2
				} else {
					beta = (beta + hi) / 2
				}
			} else {
				hi = beta
				beta = (beta + lo) / 2
			}
		}
		sum := 0.0
		for j := range n {
			sum += row[j]
		}
		for j := range n {
			if sum > 0 {
				p[i*n+j] = row[j] / sum
			}
		}
	}
	for i := range n {
		for j := i + 1; j < n; j++ {
			v := max((p[i*n+j]+p[j*n+i])/(2*float64(n)), 1e-12)
			p[i*n+j], p[j*n+i] = v, v
		}
	}
	return p
}

// normalize scales points into [0, 1] x [0, 1], keeping the aspect ratio.
func normalize(y [][2]float64) [][2]float64 {
	lo := [2]float64{math.Inf(1), math.Inf(1)}
	hi := [2]float64{math.Inf(-1), math.Inf(-1)}
	for _, p := range y {
		for d := range 2 {
			lo[d], hi[d] = min(lo[d], p[d]), max(hi[d], p[d])
		}
	}
	span := max(hi[0]-lo[0], hi[1]-lo[1], 1e-12)
	out := make([][2]float64, len(y))
	for i, p := range y {
		for d := range 2 {
			out[i][d] = (p[d] - lo[d] + (span-(hi[d]-lo[d]))/2) / span
		}
	}
	return out
}
