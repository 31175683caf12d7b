package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand"
	"sync"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The demo network, for 1x28x28 grey images:
//
//	conv1 3x3x16 pad 1 -> relu1 -> pool1 2x2   (16x14x14)
//	conv2 3x3x32 pad 1 -> relu2 -> pool2 2x2   (32x7x7)
//	conv3 3x3x128 pad 1 -> relu3               (128x7x7)
//	gap (global average) -> fc 128x10 -> prob (softmax)
//
// Three convolutions wide enough to show varied units, small enough (43k
// weights) to train on two cores in minutes. The global average pooling
// before the classifier gives class activation maps (CAM). 128 units in
// conv3 rather than 64 gain about a point of test accuracy for 10% more
// training time.
const (
	Side  = 28 // input width and height
	C1    = 16
	C2    = 32
	C3    = 128
	NumCl = 10
)

// Network holds trained weights in ONNX layouts: convolution weights
// out x in x 3 x 3, the fully connected weight C3 x 10 (Gemm without
// transB), and the input normalisation (pixel/255 - Mean) / Std.
type Network struct {
	Conv1W, Conv1B []float32
	Conv2W, Conv2B []float32
	Conv3W, Conv3B []float32
	FCW, FCB       []float32
	Mean, Std      float64
}

// DefaultEpochs is the number of passes over the training set that gives
// the committed network.
const DefaultEpochs = 10

// Config tunes training. Zero fields take the defaults.
type Config struct {
	Epochs    int     // passes over the data; default DefaultEpochs
	Seed      int64   // initial weights, shuffling and flips; same seed, same network
	BatchSize int     // default 64
	LearnRate float64 // Adam's peak step size, decayed to 0 on a cosine; default 0.003
	// Log receives one line per epoch (and a few while an epoch runs);
	// nil logs nothing.
	Log io.Writer
	// AfterEpoch, when set, is called after each epoch (1-based) with a
	// copy of the network so far.
	AfterEpoch func(epoch int, n *Network)
}

// Stats are the losses seen while training.
type Stats struct {
	BatchLoss []float64 // mean cross-entropy of every batch, in order
	EpochLoss []float64 // mean of each epoch's batch losses
	Duration  time.Duration
}

func (c *Config) defaults() {
	if c.Epochs <= 0 {
		c.Epochs = DefaultEpochs
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 64
	}
	if c.LearnRate <= 0 {
		c.LearnRate = 0.003
	}
}

// Normalization returns the mean and standard deviation of pixel/255 over a
// dataset, rounded to 4 decimals (the values the sidecar records).
func Normalization(d *Dataset) (mean, std float64) {
	var s, s2 float64
	for _, p := range d.Images {
		v := float64(p) / 255
		s += v
		s2 += v * v
	}
	n := float64(len(d.Images))
	mean = s / n
	std = math.Sqrt(s2/n - mean*mean)
	round := func(v float64) float64 { return math.Round(v*1e4) / 1e4 }
	return round(mean), round(std)
}

// trainer is the gorgonia graph of one training step for a fixed batch
// size: forward pass, cross-entropy loss and its gradients.
type trainer struct {
	g      *G.ExprGraph
	x, y   *G.Node
	params G.Nodes   // conv1 w, b, conv2 w, b, conv3 w, b, fc w, b
	grads  []G.Value // their gradients after a run
	logits *G.Node
	out    G.Value // logits of the last run
	loss   G.Value
	vm     G.VM
}

func newTrainer(bs int, init [][]float32) (*trainer, error) {
	t := &trainer{g: G.NewGraph()}
	dt := tensor.Float32
	t.x = G.NewTensor(t.g, dt, 4, G.WithShape(bs, 1, Side, Side), G.WithName("x"))
	t.y = G.NewMatrix(t.g, dt, G.WithShape(bs, NumCl), G.WithName("y"))
	shapes := paramShapes()
	for i, s := range shapes {
		v := tensor.New(tensor.WithShape(s...), tensor.WithBacking(init[i]))
		t.params = append(t.params, G.NewTensor(t.g, dt, len(s), G.WithShape(s...), G.WithName(paramNames[i]), G.WithValue(v)))
	}
	p := t.params
	h := t.x
	var err error
	for l := 0; l < 3; l++ {
		if h, err = conv3x3(h, p[2*l], bs); err != nil {
			return nil, err
		}
		if h, err = G.BroadcastAdd(h, p[2*l+1], nil, []byte{0, 2, 3}); err != nil {
			return nil, err
		}
		if h, err = G.Rectify(h); err != nil {
			return nil, err
		}
		if l < 2 {
			if h, err = G.MaxPool2D(h, tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2}); err != nil {
				return nil, err
			}
		}
	}
	// Global average pooling: mean over the 7x7 grid.
	if h, err = G.Reshape(h, tensor.Shape{bs, C3, (Side / 4) * (Side / 4)}); err != nil {
		return nil, err
	}
	if h, err = G.Mean(h, 2); err != nil {
		return nil, err
	}
	if h, err = G.Mul(h, p[6]); err != nil {
		return nil, err
	}
	if t.logits, err = G.BroadcastAdd(h, p[7], nil, []byte{0}); err != nil {
		return nil, err
	}
	// Cross-entropy: -mean over the batch of log softmax at the true class.
	logp, err := G.LogSoftMax(t.logits)
	if err != nil {
		return nil, err
	}
	picked, err := G.HadamardProd(logp, t.y)
	if err != nil {
		return nil, err
	}
	sum, err := G.Sum(picked)
	if err != nil {
		return nil, err
	}
	cost, err := G.Div(sum, G.NewConstant(float32(-bs)))
	if err != nil {
		return nil, err
	}
	grads, err := G.Grad(cost, t.params...)
	if err != nil {
		return nil, err
	}
	// Compile only what the loss, the logits and the parameter gradients
	// need: G.Grad also builds gradients nobody reads (of the input's
	// im2col, for one), which a whole-graph program would compute.
	outs := G.Nodes{G.Read(t.logits, &t.out), G.Read(cost, &t.loss)}
	t.grads = make([]G.Value, len(grads))
	for i, g := range grads {
		outs = append(outs, G.Read(g, &t.grads[i]))
	}
	prog, locs, err := G.CompileFunction(t.g, append(G.Nodes{t.x, t.y}, t.params...), outs)
	if err != nil {
		return nil, err
	}
	t.vm = G.NewTapeMachine(t.g, G.WithPrecompiled(prog, locs))
	return t, nil
}

// useBLAS installs the fast SGEMM in gorgonia once.
var useBLAS sync.Once

var paramNames = []string{"conv1.w", "conv1.b", "conv2.w", "conv2.b", "conv3.w", "conv3.b", "fc.w", "fc.b"}

// paramShapes are the gorgonia shapes of the parameters; biases broadcast
// over batch and space.
func paramShapes() [][]int {
	return [][]int{
		{C1, 1, 3, 3}, {1, C1, 1, 1},
		{C2, C1, 3, 3}, {1, C2, 1, 1},
		{C3, C2, 3, 3}, {1, C3, 1, 1},
		{C3, NumCl}, {1, NumCl},
	}
}

// initParams draws He-normal convolution weights (std sqrt(2/fan_in)), a
// Glorot-normal fully connected weight (std sqrt(2/(fan_in+fan_out)), so
// that the first losses are near ln 10) and zero biases.
func initParams(r *rand.Rand) [][]float32 {
	var out [][]float32
	for i, s := range paramShapes() {
		n := 1
		for _, d := range s {
			n *= d
		}
		v := make([]float32, n)
		if i%2 == 0 { // weights
			std := math.Sqrt(2 / float64(n/s[0])) // conv: fan_in = in x 3 x 3
			if len(s) == 2 {
				std = math.Sqrt(2 / float64(s[0]+s[1]))
			}
			for j := range v {
				v[j] = float32(r.NormFloat64() * std)
			}
		}
		out = append(out, v)
	}
	return out
}

// shards is the number of parts each batch is split into; the parts run
// concurrently, each on its own copy of the graph, and their gradients are
// averaged. It is fixed (not the number of CPUs) so that a seed gives the
// same network on any machine.
const shards = 2

// shard is one part of a batch with its graph and input buffers.
type shard struct {
	tr     *trainer
	xs, ys []float32
	xT, yT *tensor.Dense
}

func newShard(bs int, params [][]float32) (*shard, error) {
	own := make([][]float32, len(params))
	for j, p := range params {
		own[j] = append([]float32(nil), p...)
	}
	tr, err := newTrainer(bs, own)
	if err != nil {
		return nil, fmt.Errorf("train: build graph: %w", err)
	}
	sh := &shard{tr: tr, xs: make([]float32, bs*Side*Side), ys: make([]float32, bs*NumCl)}
	sh.xT = tensor.New(tensor.WithShape(bs, 1, Side, Side), tensor.WithBacking(sh.xs))
	sh.yT = tensor.New(tensor.WithShape(bs, NumCl), tensor.WithBacking(sh.ys))
	return sh, nil
}

// Train trains the demo network on data with Adam on the cross-entropy,
// the step size following a cosine from cfg.LearnRate down to 0, each
// image mirrored left-right with probability 1/2. It stops early with
// ctx's error when ctx is cancelled.
func Train(ctx context.Context, data *Dataset, cfg Config) (*Network, *Stats, error) {
	cfg.defaults()
	if data.Rows != Side || data.Cols != Side {
		return nil, nil, fmt.Errorf("train: images are %dx%d, want %dx%d", data.Cols, data.Rows, Side, Side)
	}
	bs := cfg.BatchSize
	if bs%shards != 0 {
		return nil, nil, fmt.Errorf("train: batch size %d is not a multiple of %d", bs, shards)
	}
	if data.Len() < bs {
		return nil, nil, fmt.Errorf("train: %d images is less than one batch of %d", data.Len(), bs)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	useBLAS.Do(func() { G.Use(newBLAS()) })
	defer singleThreadBLAS()()
	start := time.Now()
	r := rand.New(rand.NewSource(cfg.Seed))
	mean, std := Normalization(data)
	params := initParams(r)
	parts := make([]*shard, shards)
	for i := range parts {
		sh, err := newShard(bs/shards, params)
		if err != nil {
			return nil, nil, err
		}
		defer sh.tr.vm.Close()
		parts[i] = sh
	}
	grads := make([][]float32, len(params))
	for j, p := range params {
		grads[j] = make([]float32, len(p))
	}
	opt := newAdam(params)
	batches := data.Len() / bs
	stats := &Stats{}
	order := make([]int, data.Len())
	for i := range order {
		order[i] = i
	}
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		var epochLoss float64
		for b := 0; b < batches; b++ {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
			fillBatch(parts, data, order[b*bs:(b+1)*bs], r, mean, std)
			loss, err := gradients(parts, grads)
			if err != nil {
				return nil, nil, fmt.Errorf("train: epoch %d batch %d: %w", epoch+1, b, err)
			}
			step := float64(epoch*batches + b)
			opt.step(params, grads, cfg.LearnRate*0.5*(1+math.Cos(math.Pi*step/float64(cfg.Epochs*batches))))
			for _, sh := range parts {
				for j, p := range sh.tr.params {
					copy(p.Value().Data().([]float32), params[j])
				}
			}
			stats.BatchLoss = append(stats.BatchLoss, loss)
			epochLoss += loss
			if q := batches / 4; cfg.Log != nil && batches >= 200 && (b+1)%q == 0 && (b+1)/q < 4 {
				fmt.Fprintf(cfg.Log, "epoch %d/%d: %d%%, loss %.4f (%s)\n", epoch+1, cfg.Epochs, 100*(b+1)/batches,
					epochLoss/float64(b+1), time.Since(start).Round(time.Second))
			}
		}
		stats.EpochLoss = append(stats.EpochLoss, epochLoss/float64(batches))
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, "epoch %d/%d: loss %.4f (%s)\n", epoch+1, cfg.Epochs, epochLoss/float64(batches), time.Since(start).Round(time.Second))
		}
		if cfg.AfterEpoch != nil {
			snapshot := make([][]float32, len(params))
			for j, p := range params {
				snapshot[j] = append([]float32(nil), p...)
			}
			cfg.AfterEpoch(epoch+1, newNetwork(snapshot, mean, std))
		}
	}
	stats.Duration = time.Since(start)
	return newNetwork(params, mean, std), stats, nil
}

// fillBatch writes the images idx (each mirrored with probability 1/2) and
// their one-hot labels into the shards' inputs, in order.
func fillBatch(parts []*shard, data *Dataset, idx []int, r *rand.Rand, mean, std float64) {
	per := len(idx) / len(parts)
	for i, k := range idx {
		sh, j := parts[i/per], i%per
		fillImage(sh.xs[j*Side*Side:(j+1)*Side*Side], data.Image(k), r.Intn(2) == 1, mean, std)
		clear(sh.ys[j*NumCl : (j+1)*NumCl])
		sh.ys[j*NumCl+int(data.Labels[k])] = 1
	}
}

// gradients runs the shards concurrently and returns the batch loss, the
// mean of the shard losses, with its gradient (the mean of theirs) in grads.
func gradients(parts []*shard, grads [][]float32) (float64, error) {
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, sh := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = sh.run()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	n := float32(len(parts))
	var loss float64
	for _, sh := range parts {
		loss += float64(sh.tr.loss.Data().(float32)) / float64(n)
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return 0, fmt.Errorf("loss diverged (%v)", loss)
	}
	for j := range grads {
		clear(grads[j])
		for _, sh := range parts {
			g := sh.tr.grads[j]
			if g == nil {
				return 0, fmt.Errorf("no gradient for %s", paramNames[j])
			}
			for k, v := range g.Data().([]float32) {
				grads[j][k] += v / n
			}
		}
	}
	for _, sh := range parts {
		sh.tr.vm.Reset()
	}
	return loss, nil
}

// newNetwork wraps parameters in the order of paramNames.
func newNetwork(params [][]float32, mean, std float64) *Network {
	n := &Network{Mean: mean, Std: std}
	dst := []*[]float32{&n.Conv1W, &n.Conv1B, &n.Conv2W, &n.Conv2B, &n.Conv3W, &n.Conv3B, &n.FCW, &n.FCB}
	for i, p := range params {
		*dst[i] = p
	}
	return n
}

// run computes the shard's loss and gradients.
func (sh *shard) run() error {
	if err := G.Let(sh.tr.x, sh.xT); err != nil {
		return err
	}
	if err := G.Let(sh.tr.y, sh.yT); err != nil {
		return err
	}
	return sh.tr.vm.RunAll()
}

// fillImage writes the normalised image (mirrored left-right when flip) to
// dst.
func fillImage(dst []float32, img []uint8, flip bool, mean, std float64) {
	m, s := float32(mean), float32(1/std)
	for y := 0; y < Side; y++ {
		row := img[y*Side : (y+1)*Side]
		out := dst[y*Side : (y+1)*Side]
		for x, p := range row {
			if flip {
				x = Side - 1 - x
			}
			out[x] = (float32(p)/255 - m) * s
		}
	}
}

// adam is the Adam optimiser (Kingma & Ba 2015) with the step size given
// per step, so that it can follow a schedule.
type adam struct {
	m, v [][]float32
	t    int
}

func newAdam(params [][]float32) *adam {
	a := &adam{}
	for _, p := range params {
		a.m = append(a.m, make([]float32, len(p)))
		a.v = append(a.v, make([]float32, len(p)))
	}
	return a
}

func (a *adam) step(params, grads [][]float32, lr float64) {
	const b1, b2, eps = 0.9, 0.999, 1e-8
	a.t++
	c1 := 1 - math.Pow(b1, float64(a.t))
	c2 := 1 - math.Pow(b2, float64(a.t))
	for i, w := range params {
		g, m, v := grads[i], a.m[i], a.v[i]
		for j := range w {
			m[j] = b1*m[j] + (1-b1)*g[j]
			v[j] = b2*v[j] + (1-b2)*g[j]*g[j]
			mh := float64(m[j]) / c1
			vh := float64(v[j]) / c2
			w[j] -= float32(lr * mh / (math.Sqrt(vh) + eps))
		}
	}
}

// conv3x3 is a 3x3 convolution with padding 1 on NCHW x: for each image,
// W (out x in*9) times the transposed im2col patches (h*w x in*9), which is
// the output already in NCHW order. (gorgonia's Conv2d multiplies the
// other way round and transposes NHWC to NCHW, forward and backward: 15%
// more time here. The results are the same.) W is broadcast over the batch;
// the broadcast's gradient sums over it.
func conv3x3(x, w *G.Node, bs int) (*G.Node, error) {
	h, wd := x.Shape()[2], x.Shape()[3]
	cout, k := w.Shape()[0], w.Shape()[1]*9
	col, err := G.Im2Col(x, tensor.Shape{3, 3}, tensor.Shape{1, 1}, tensor.Shape{1, 1}, tensor.Shape{1, 1})
	if err != nil {
		return nil, err
	}
	if col, err = G.Reshape(col, tensor.Shape{bs, h * wd, k}); err != nil {
		return nil, err
	}
	w3, err := G.Reshape(w, tensor.Shape{1, cout, k})
	if err != nil {
		return nil, err
	}
	// Broadcast repeats w3 to the shape of its first operand (only its
	// shape matters).
	like := G.NewTensor(x.Graph(), tensor.Float32, 3, G.WithShape(bs, cout, k),
		G.WithValue(tensor.New(tensor.WithShape(bs, cout, k), tensor.Of(tensor.Float32))))
	_, wb, err := G.Broadcast(like, w3, G.NewBroadcastPattern(nil, []byte{0}))
	if err != nil {
		return nil, err
	}
	y, err := G.BatchedMatMul(wb, col, false, true)
	if err != nil {
		return nil, err
	}
	return G.Reshape(y, tensor.Shape{bs, cout, h, wd})
}
