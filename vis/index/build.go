package index

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	xdraw "golang.org/x/image/draw"

	"github.com/deepscope/deepscope/model"
	"github.com/deepscope/deepscope/vis"
)

// Options configure Build.
type Options struct {
	Model *model.Model
	// ModelPath is the ONNX file: its name and content hash go into the
	// manifest (merge checks them).
	ModelPath string
	// Sidecar preprocesses the images; it must fit the model's input
	// (model.Sidecar.FitInput).
	Sidecar *model.Sidecar
	// Source is a folder of images or a video file.
	Source string
	// Layers names the layers to index; empty or "all": every Conv layer.
	// Each must be N x C x H x W (or N x C).
	Layers []string
	// Top is the number of entries kept per unit (default 9).
	Top int
	// Shard selects every n-th image from the i-th (zero: all).
	Shard Shard
	// Every takes every n-th frame of a video (default 1).
	Every int
	// Out is the index directory.
	Out string
	// NoReconstructions skips the deconvnet and guided-backprop pictures
	// (max crops only): no backward passes at all.
	NoReconstructions bool
	// Progress, when set, is called from Build's goroutine as images are
	// done (at most about 10 times a second, and at the end of each phase).
	Progress func(Progress)
	// Checkpoint is how often the scan saves its state (default 30 s).
	Checkpoint time.Duration
	// Log, when set, receives notes for the user (a resumed or restarted
	// build).
	Log func(string)
}

// Progress reports a build's advance.
type Progress struct {
	// Phase is "scan" (one forward pass per image, keeping the top-k) or
	// "render" (crops and reconstructions of the images kept).
	Phase       string
	Done, Total int
	// Skipped counts the unreadable images so far.
	Skipped int
	Elapsed time.Duration
	// ETA estimates the phase's remaining time (0 when unknown).
	ETA time.Duration
}

// Result is what Build did.
type Result struct {
	Manifest *Manifest
	// Resumed: the build continued a stopped one.
	Resumed bool
	// Scanned is the number of images this run scanned (a resumed run
	// scans only the rest); ScanTime and ForwardTime are this run's wall
	// time of the scan and the part of it spent in forward passes.
	Scanned               int
	ScanTime, ForwardTime time.Duration
	// Rendered counts the images this run rendered entries for, Passes
	// the backward passes, RenderTime the phase's wall time.
	Rendered, Passes int
	RenderTime       time.Duration
}

// buildState is what a stopped build leaves in OUT.partial/state.json.
type buildState struct {
	Params  string      `json:"params"`
	Phase   string      `json:"phase"` // "scan", "render"
	Next    int         `json:"next"`  // the source position the scan continues at
	Items   int         `json:"items"`
	Images  int         `json:"images"`
	Skipped []Skip      `json:"skipped,omitempty"`
	Top     [][][]Entry `json:"top"` // per layer, per unit
	Times   Times       `json:"times"`
	// Rendered lists the source positions whose entries' files are all
	// written.
	Rendered []int `json:"rendered,omitempty"`
}

// job is one entry to render.
type job struct {
	layer, unit, rank int
	e                 Entry
	rf                model.ReceptiveField
	crop              model.Box
}

// builder holds a build's working data.
type builder struct {
	opt      Options
	m        *model.Model
	src      *source
	layers   []model.Layer
	dirs     []string
	partial  string
	st       buildState
	renders  []string
	rfCache  map[[3]int]model.ReceptiveField
	inputBox model.Box
	modelSHA string
	res      Result
	// views holds the network's view of images kept during the scan, so
	// that max crops need not read them again (up to viewBudget bytes).
	views     map[string]image.Image
	viewBytes int
}

// viewBudget bounds the memory of the views kept during a scan.
const viewBudget = 512 << 20

// Build indexes a folder of images or a video into opt.Out. It runs every
// image of the shard through the network once (the scan), keeping for
// every unit of the layers the top-k images by the unit's maximum over
// positions, then runs the kept images again to cut their receptive
// fields and render the reconstructions. It stops soon after ctx is done,
// leaving its state in Out.partial so that the same call continues later;
// Out itself is only replaced by a finished index. Unreadable images are
// skipped and listed in the manifest.
func Build(ctx context.Context, opt Options) (*Result, error) {
	b, err := newBuilder(opt)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(b.partial, 0o755); err != nil {
		return nil, err
	}
	if err := b.loadState(); err != nil {
		return nil, err
	}
	if b.st.Phase == "scan" {
		if err := b.scan(ctx); err != nil {
			return &b.res, err
		}
	}
	if b.st.Phase == "render" {
		if err := b.render(ctx); err != nil {
			return &b.res, err
		}
	}
	m, err := b.finish()
	if err != nil {
		return &b.res, err
	}
	b.res.Manifest = m
	return &b.res, nil
}

func newBuilder(opt Options) (*builder, error) {
	if opt.Model == nil || opt.Sidecar == nil {
		return nil, fmt.Errorf("index: Options need a model and a sidecar")
	}
	if opt.Out == "" {
		return nil, fmt.Errorf("index: no output directory")
	}
	if opt.Top <= 0 {
		opt.Top = 9
	}
	if opt.Shard.N == 0 {
		opt.Shard = Shard{0, 1}
	}
	if opt.Checkpoint <= 0 {
		opt.Checkpoint = 30 * time.Second
	}
	m := opt.Model
	in := m.Input()
	if len(in.Shape) != 4 || in.Shape[0] != 1 || in.DType != model.Float32 {
		return nil, fmt.Errorf("index: the model's input %q must be 1 x C x H x W float32, not %s", in.Name, model.ShapeString(in.Shape))
	}
	layers, err := chooseLayers(m, opt.Layers)
	if err != nil {
		return nil, err
	}
	src, err := openSource(opt.Source, opt.Every)
	if err != nil {
		return nil, err
	}
	b := &builder{opt: opt, m: m, src: src, layers: layers, partial: filepath.Clean(opt.Out) + partialExt,
		rfCache: map[[3]int]model.ReceptiveField{}, views: map[string]image.Image{}, inputBox: model.Box{Y1: in.Shape[2], X1: in.Shape[3]}}
	names := make([]string, len(layers))
	for i, l := range layers {
		names[i] = l.Name
	}
	b.dirs = layerDirs(names)
	b.renders = []string{RenderMax}
	if !opt.NoReconstructions {
		b.renders = append(b.renders, RenderDeconv, RenderGuided)
	}
	if opt.ModelPath != "" {
		data, err := os.ReadFile(opt.ModelPath)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(data)
		b.modelSHA = hex.EncodeToString(sum[:])
	}
	return b, nil
}

// chooseLayers resolves the layer names ("all": every Conv layer).
func chooseLayers(m *model.Model, names []string) ([]model.Layer, error) {
	if len(names) == 0 || (len(names) == 1 && names[0] == "all") {
		var out []model.Layer
		for _, l := range m.Layers {
			if (l.Op == "Conv" || l.Op == "ConvTranspose") && len(l.Shape) == 4 {
				out = append(out, l)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("model %s has no Conv layers; name the layers to index", m.Name)
		}
		return out, nil
	}
	var out []model.Layer
	for _, n := range names {
		l, err := m.Layer(n)
		if err != nil {
			return nil, err
		}
		if l.DType != model.Float32 || (len(l.Shape) != 4 && len(l.Shape) != 2) || l.Shape[0] != 1 {
			return nil, fmt.Errorf("layer %s has shape %s: only 1 x C x H x W and 1 x C layers can be indexed", n, model.ShapeString(l.Shape))
		}
		if slices.ContainsFunc(out, func(o model.Layer) bool { return o.Name == l.Name }) {
			return nil, fmt.Errorf("layer %s is listed twice", n)
		}
		out = append(out, l)
	}
	return out, nil
}

func (b *builder) log(format string, args ...any) {
	if b.opt.Log != nil {
		b.opt.Log(fmt.Sprintf(format, args...))
	}
}

// params identifies what a build computes, so that a stopped build is only
// continued by the same one.
func (b *builder) params() string {
	abs, _ := filepath.Abs(b.opt.Source)
	var layers []string
	for _, l := range b.layers {
		layers = append(layers, l.Name)
	}
	data, _ := json.Marshal(map[string]any{
		"model": b.modelSHA, "modelName": b.m.Name, "layers": layers, "top": b.opt.Top, "shard": b.opt.Shard,
		"every": b.src.every, "source": abs, "files": b.src.names(), "renders": b.renders,
		"preprocess": b.opt.Sidecar.Input, "version": FormatVersion,
	})
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// loadState continues a stopped build with the same parameters, or starts
// afresh.
func (b *builder) loadState() error {
	out := filepath.Clean(b.opt.Out)
	if err := recoverSwap(b.partial, out); err != nil {
		return err
	}
	if err := os.MkdirAll(b.partial, 0o755); err != nil {
		return err
	}
	params := b.params()
	data, err := os.ReadFile(filepath.Join(b.partial, stateFile))
	if err == nil {
		var st buildState
		if json.Unmarshal(data, &st) == nil && st.Params == params && len(st.Top) == len(b.layers) {
			b.st = st
			b.res.Resumed = true
			b.log("continuing the stopped build in %s (%s phase, %d images scanned)", b.partial, st.Phase, st.Images)
			return nil
		}
		b.log("%s holds a build with other parameters: starting over", b.partial)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.RemoveAll(b.partial); err != nil {
		return err
	}
	if err := os.MkdirAll(b.partial, 0o755); err != nil {
		return err
	}
	b.st = buildState{Params: params, Phase: "scan", Top: make([][][]Entry, len(b.layers))}
	for i, l := range b.layers {
		b.st.Top[i] = make([][]Entry, l.Shape[1])
	}
	return b.saveState()
}

func (b *builder) saveState() error {
	return writeJSONAtomic(filepath.Join(b.partial, stateFile), &b.st, false)
}

// progress paces Progress calls.
type progress struct {
	fn          func(Progress)
	phase       string
	total, base int // base: items done before this run
	start, last time.Time
}

func (p *progress) report(done, skipped int, final bool) {
	if p.fn == nil {
		return
	}
	now := time.Now()
	if !final && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	pr := Progress{Phase: p.phase, Done: done, Total: p.total, Skipped: skipped, Elapsed: now.Sub(p.start)}
	if n := done - p.base; n > 0 && p.total > done {
		pr.ETA = time.Duration(float64(pr.Elapsed) / float64(n) * float64(p.total-done))
	}
	p.fn(pr)
}

// scan runs every image of the shard through the network once and keeps
// each unit's top-k.
func (b *builder) scan(ctx context.Context) error {
	tops := make([][]*TopK, len(b.layers))
	for i, l := range b.layers {
		tops[i] = make([]*TopK, l.Shape[1])
		for c := range tops[i] {
			tops[i][c] = NewTopK(b.opt.Top)
			for _, e := range b.st.Top[i][c] {
				tops[i][c].Offer(e)
			}
		}
	}
	want := func(pos int) bool { return b.opt.Shard.has(b.src.ordinal(pos)) }
	total := 0
	if b.src.kind == "folder" {
		for i := range b.src.files {
			if want(i) {
				total++
			}
		}
	}
	done := b.st.Images + len(b.st.Skipped)
	prog := &progress{fn: b.opt.Progress, phase: "scan", total: total, base: done, start: time.Now()}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := b.src.read(rctx, b.st.Next, want, b.opt.Sidecar.Preprocess)
	start := time.Now()
	var fwd time.Duration
	// Times go into the state at every save: scan time since the last
	// save, forward time not yet counted.
	lastSave, fwdSaved := start, time.Duration(0)
	save := func() error {
		now := time.Now()
		b.st.Times.Scan += now.Sub(lastSave).Seconds()
		b.st.Times.Forward += (fwd - fwdSaved).Seconds()
		lastSave, fwdSaved = now, fwd
		for i := range tops {
			for c, t := range tops[i] {
				b.st.Top[i][c] = t.Entries()
			}
		}
		return b.saveState()
	}
	defer func() {
		b.res.ScanTime += time.Since(start)
		b.res.ForwardTime += fwd
	}()
	for d := range ch {
		if d.it.pos < 0 {
			return d.err // the source could not be opened
		}
		if d.err != nil {
			b.st.Skipped = append(b.st.Skipped, Skip{Image: d.it.key, Error: d.err.Error()})
		} else {
			kept := false
			t0 := time.Now()
			acts, err := b.m.Run(d.x)
			fwd += time.Since(t0)
			if err != nil {
				return fmt.Errorf("%s: %w", d.it.key, err)
			}
			for i, l := range b.layers {
				v, err := acts.Get(l.Name)
				if err != nil {
					acts.Release()
					return err
				}
				for c, t := range tops[i] {
					if val, y, x, ok := channelMax(v, c); ok && t.Offer(Entry{Value: val, Image: d.it.key, Y: y, X: x}) {
						kept = true
					}
				}
			}
			acts.Release()
			if kept {
				b.keepView(d.it.key, d.x, tops)
			}
			b.st.Images++
			b.res.Scanned++
		}
		b.st.Next = d.it.pos + 1
		b.st.Items = max(b.st.Items, d.it.pos+1)
		done++
		prog.report(done, len(b.st.Skipped), false)
		if time.Since(lastSave) >= b.opt.Checkpoint {
			if err := save(); err != nil {
				return err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		if serr := save(); serr != nil {
			return serr
		}
		return err
	}
	if b.src.kind == "folder" {
		b.st.Items = len(b.src.files)
	}
	prog.total = done
	prog.report(done, len(b.st.Skipped), true)
	b.st.Phase = "render"
	return save()
}

// keepView stores the network's view of an image that entered a top-k,
// dropping views no entry refers to any more when the budget is reached.
func (b *builder) keepView(key string, x *model.Tensor, tops [][]*TopK) {
	size := 4 * x.Len() / max(1, x.Shape[1])
	if b.viewBytes+size > viewBudget {
		used := map[string]bool{}
		for i := range tops {
			for _, t := range tops[i] {
				for _, e := range t.e {
					used[e.Image] = true
				}
			}
		}
		for k := range b.views {
			if !used[k] {
				delete(b.views, k)
				b.viewBytes -= size
			}
		}
		if b.viewBytes+size > viewBudget {
			return
		}
	}
	b.views[key] = b.opt.Sidecar.ToImage(x)
	b.viewBytes += size
}

// jobs lists the entries to render by source position.
func (b *builder) jobs() (map[int][]*job, error) {
	byPos := map[int][]*job{}
	for li := range b.layers {
		for c, list := range b.st.Top[li] {
			for r, e := range list {
				pos, ok := b.src.keyPos(e.Image)
				if !ok {
					return nil, fmt.Errorf("image %s is no longer in %s", e.Image, b.opt.Source)
				}
				rf, err := b.field(li, e.Y, e.X)
				if err != nil {
					return nil, err
				}
				crop := rf.Nominal
				if crop.Empty() {
					crop = b.inputBox
				}
				if !rf.Box.Empty() && rf.Box.Intersect(crop) != rf.Box { // reflect padding
					crop = model.Box{Y0: min(crop.Y0, rf.Box.Y0), X0: min(crop.X0, rf.Box.X0), Y1: max(crop.Y1, rf.Box.Y1), X1: max(crop.X1, rf.Box.X1)}
				}
				byPos[pos] = append(byPos[pos], &job{layer: li, unit: c, rank: r, e: e, rf: rf, crop: crop})
			}
		}
	}
	return byPos, nil
}

// field returns the receptive field of a position of layer li (cached).
func (b *builder) field(li, y, x int) (model.ReceptiveField, error) {
	key := [3]int{li, y, x}
	if rf, ok := b.rfCache[key]; ok {
		return rf, nil
	}
	var pos []int
	if len(b.layers[li].Shape) == 4 {
		pos = []int{y, x}
	}
	rf, err := b.m.ReceptiveField(b.layers[li].Name, pos...)
	if err != nil {
		return rf, err
	}
	b.rfCache[key] = rf
	return rf, nil
}

func (b *builder) unitPath(j *job) string {
	return filepath.Join(b.partial, b.dirs[j.layer], unitDir(j.unit))
}

// render cuts and renders every kept entry, one forward pass per image and
// as few backward passes as the entries' fields allow.
func (b *builder) render(ctx context.Context) error {
	start := time.Now()
	defer func() { b.res.RenderTime += time.Since(start) }()
	byPos, err := b.jobs()
	if err != nil {
		return err
	}
	for li, l := range b.layers {
		for c := range l.Shape[1] {
			if err := os.MkdirAll(filepath.Join(b.partial, b.dirs[li], unitDir(c)), 0o755); err != nil {
				return err
			}
		}
	}
	rendered := map[int]bool{}
	for _, pos := range b.st.Rendered {
		rendered[pos] = true
	}
	markDone := func(pos int) {
		rendered[pos] = true
		b.st.Rendered = append(b.st.Rendered, pos)
	}
	todo := map[int]bool{}
	total, fromViews := 0, 0
	prog := &progress{fn: b.opt.Progress, phase: "render", start: time.Now()}
	var viewed []int
	for pos, jobs := range byPos {
		if rendered[pos] {
			continue
		}
		total += len(jobs)
		// Max crops alone come from the views kept by the scan.
		if b.opt.NoReconstructions && b.views[jobs[0].e.Image] != nil {
			viewed = append(viewed, pos)
			fromViews += len(jobs)
			continue
		}
		todo[pos] = true
	}
	if err := b.writeViewCrops(ctx, byPos, viewed); err != nil {
		return err
	}
	for _, pos := range viewed {
		markDone(pos)
	}
	if err := b.saveState(); err != nil {
		return err
	}
	prog.total, prog.base = total, fromViews
	done := fromViews
	lastSave := time.Now()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The reader goroutine gets its own copy: the loop below deletes from todo.
	wanted := maps.Clone(todo)
	ch := b.src.read(rctx, 0, func(pos int) bool { return wanted[pos] }, b.opt.Sidecar.Preprocess)
	for d := range ch {
		if d.it.pos < 0 || d.err != nil {
			return fmt.Errorf("render: %s: %w", d.it.key, d.err)
		}
		err := b.renderImage(ctx, d.x, byPos[d.it.pos], func(n int) {
			done += n
			prog.report(done, 0, false)
		})
		if err != nil {
			if errors.Is(err, ctx.Err()) {
				b.saveState()
			}
			return err
		}
		delete(todo, d.it.pos)
		markDone(d.it.pos)
		b.res.Rendered++
		if time.Since(lastSave) >= b.opt.Checkpoint {
			lastSave = time.Now()
			if err := b.saveState(); err != nil {
				return err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		b.saveState()
		return err
	}
	if len(todo) > 0 {
		return fmt.Errorf("render: %d images of the scan could not be read again from %s", len(todo), b.opt.Source)
	}
	prog.report(done, 0, true)
	return nil
}

// writeViewCrops writes the max crops of the jobs at the given source
// positions from the views the scan kept, encoding on every processor
// (JPEG encoding is most of the cost of an index without
// reconstructions).
func (b *builder) writeViewCrops(ctx context.Context, byPos map[int][]*job, positions []int) error {
	var jobs []*job
	for _, pos := range positions {
		jobs = append(jobs, byPos[pos]...)
	}
	workers := min(runtime.GOMAXPROCS(0), len(jobs))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(jobs); i += workers {
				if err := ctx.Err(); err != nil {
					errs[w] = err
					return
				}
				j := jobs[i]
				if err := b.writeJPEG(j, RenderMax, cropImage(b.views[j.e.Image], j.crop)); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// minCropSide is the side small crops are enlarged to (by a whole factor).
const minCropSide = 64

func cropScale(b model.Box) int {
	side := max(b.Dy(), b.Dx(), 1)
	return max(1, (minCropSide+side-1)/side)
}

// renderImage writes the files of the jobs of one image, calling done
// with the number of jobs finished as it goes.
func (b *builder) renderImage(ctx context.Context, x *model.Tensor, jobs []*job, done func(int)) error {
	acts, err := b.m.Run(x)
	if err != nil {
		return err
	}
	defer acts.Release()
	view := b.opt.Sidecar.ToImage(x)
	pending := jobs
	for _, j := range jobs {
		if err := b.writeJPEG(j, RenderMax, cropImage(view, j.crop)); err != nil {
			return err
		}
	}
	if b.opt.NoReconstructions || len(pending) == 0 {
		done(len(pending))
		return nil
	}
	bgr := b.opt.Sidecar.Input.Color == model.BGR
	in := b.m.Input()
	for _, mode := range []struct {
		kind string
		mode model.Mode
	}{{RenderDeconv, model.Deconvnet}, {RenderGuided, model.Guided}} {
		for _, pass := range packPasses(pending, b.inputBox, b.layerOrder()) {
			if err := ctx.Err(); err != nil {
				return err
			}
			seeds := map[string]*model.Tensor{}
			for _, j := range pass {
				l := b.layers[j.layer]
				s := seeds[l.Name]
				if s == nil {
					s = model.NewTensor(l.Shape...)
					seeds[l.Name] = s
				}
				hw, w := 1, 1
				if len(l.Shape) == 4 {
					hw, w = l.Shape[2]*l.Shape[3], l.Shape[3]
				}
				s.Data[j.unit*hw+j.e.Y*w+j.e.X] = 1
			}
			grads, err := b.m.Backward(acts, seeds, mode.mode, in.Name)
			if err != nil {
				return err
			}
			b.res.Passes++
			g := grads[in.Name]
			for _, j := range pass {
				img, err := vis.Render(&vis.Map{Kind: vis.InputMap, Data: cropTensor(g, j.crop), Height: j.crop.Dy(), Width: j.crop.Dx(), Mode: vis.ModeRaw}, nil, vis.Style{BGR: bgr})
				if err != nil {
					return err
				}
				if err := b.writeJPEG(j, mode.kind, img); err != nil {
					return err
				}
			}
			if mode.kind == RenderGuided {
				done(len(pass))
			}
		}
	}
	return nil
}

// layerOrder returns each indexed layer's position in the graph (deeper
// layers cost more to backpropagate from).
func (b *builder) layerOrder() []int {
	out := make([]int, len(b.layers))
	for i, l := range b.layers {
		out[i] = slices.IndexFunc(b.m.Layers, func(o model.Layer) bool { return o.Name == l.Name })
	}
	return out
}

// packPasses groups the jobs of one image into backward passes whose
// crops (inside the input) do not overlap. The gradient of a seed reaches
// only the pixels of its receptive field, so seeds with disjoint fields
// never meet on the way down: every ReLU sees one seed's signal alone, and
// one pass gives each the picture it would get alone, exactly. Deepest
// layers first, each job into the first pass it fits.
func packPasses(jobs []*job, input model.Box, depth []int) [][]*job {
	sorted := slices.Clone(jobs)
	slices.SortStableFunc(sorted, func(a, b *job) int { return depth[b.layer] - depth[a.layer] })
	var passes [][]*job
	var boxes [][]model.Box
	for _, j := range sorted {
		box := j.crop.Intersect(input)
		placed := false
		for p := range passes {
			if !slices.ContainsFunc(boxes[p], box.Overlaps) {
				passes[p] = append(passes[p], j)
				boxes[p] = append(boxes[p], box)
				placed = true
				break
			}
		}
		if !placed {
			passes = append(passes, []*job{j})
			boxes = append(boxes, []model.Box{box})
		}
	}
	return passes
}

// cropImage cuts box out of img, black outside it.
func cropImage(img image.Image, box model.Box) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, box.Dx(), box.Dy()))
	draw.Draw(out, out.Rect, image.NewUniform(color.Black), image.Point{}, draw.Src)
	draw.Draw(out, out.Rect, img, image.Pt(box.X0, box.Y0), draw.Src)
	return out
}

// cropTensor cuts box out of a [1, C, H, W] tensor as [C, h, w], zero
// outside it.
func cropTensor(g *model.Tensor, box model.Box) *model.Tensor {
	c, h, w := g.Shape[1], g.Shape[2], g.Shape[3]
	out := model.NewTensor(c, box.Dy(), box.Dx())
	for ch := range c {
		for y := max(box.Y0, 0); y < min(box.Y1, h); y++ {
			for x := max(box.X0, 0); x < min(box.X1, w); x++ {
				out.Data[(ch*box.Dy()+y-box.Y0)*box.Dx()+x-box.X0] = g.Data[(ch*h+y)*w+x]
			}
		}
	}
	return out
}

// writeJPEG enlarges small crops and writes one rendering of a job.
func (b *builder) writeJPEG(j *job, kind string, img image.Image) error {
	if s := cropScale(j.crop); s > 1 {
		r := img.Bounds()
		big := image.NewRGBA(image.Rect(0, 0, r.Dx()*s, r.Dy()*s))
		xdraw.NearestNeighbor.Scale(big, big.Rect, img, r, xdraw.Src, nil)
		img = big
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 92}); err != nil {
		return err
	}
	// Not atomic on its own: a stopped build redoes every image not in
	// its state's Rendered list, overwriting what it left.
	return os.WriteFile(filepath.Join(b.unitPath(j), entryFile(kind, j.rank)), buf.Bytes(), 0o644)
}

// finish writes every unit's info.json and the manifest, then publishes
// the index.
func (b *builder) finish() (*Manifest, error) {
	byPos, err := b.jobs()
	if err != nil {
		return nil, err
	}
	units := map[[2]int][]*job{}
	for _, jobs := range byPos {
		for _, j := range jobs {
			units[[2]int{j.layer, j.unit}] = append(units[[2]int{j.layer, j.unit}], j)
		}
	}
	man := &Manifest{
		Version: FormatVersion, Model: filepath.Base(b.opt.ModelPath), ModelSHA256: b.modelSHA,
		Input: Input{Name: b.m.Input().Name, Shape: b.m.Input().Shape}, Preprocess: b.opt.Sidecar.Input,
		Source: Source{Path: b.opt.Source, Kind: b.src.kind, Items: b.st.Items}, Shards: []Shard{b.opt.Shard},
		Top: b.opt.Top, Images: b.st.Images, Skipped: b.st.Skipped, Renderings: b.renders,
		Created: time.Now().UTC().Format(time.RFC3339), Times: b.st.Times,
	}
	if b.src.kind == "video" {
		man.Source.Every = b.src.every
	}
	man.Times.Render += b.res.RenderTime.Seconds()
	for i, l := range b.layers {
		info := LayerInfo{Name: l.Name, Op: l.Op, Shape: l.Shape, Units: l.Shape[1], Dir: b.dirs[i]}
		if len(l.Shape) == 4 {
			if rf, err := b.field(i, l.Shape[2]/2, l.Shape[3]/2); err == nil {
				info.Field = [2]int{rf.Nominal.Dy(), rf.Nominal.Dx()}
			}
		}
		man.Layers = append(man.Layers, info)
		for c := range l.Shape[1] {
			jobs := units[[2]int{i, c}]
			slices.SortFunc(jobs, func(a, b *job) int { return a.rank - b.rank })
			u := UnitInfo{Layer: l.Name, Unit: c, Entries: []EntryInfo{}}
			for _, j := range jobs {
				files := map[string]string{}
				for _, k := range b.renders {
					files[k] = entryFile(k, j.rank)
				}
				u.Entries = append(u.Entries, EntryInfo{Rank: j.rank, Entry: j.e, Box: boxArray(j.rf.Box),
					Crop: boxArray(j.crop), Scale: cropScale(j.crop), Files: files})
			}
			dir := filepath.Join(b.partial, info.Dir, unitDir(c))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, err
			}
			if err := writeJSONAtomic(filepath.Join(dir, UnitInfoFile), u, false); err != nil {
				return nil, err
			}
		}
	}
	// The state stays until the index is published: a run killed before
	// that finishes this one again.
	if err := writeJSONAtomic(filepath.Join(b.partial, ManifestFile), man, true); err != nil {
		return nil, err
	}
	out := filepath.Clean(b.opt.Out)
	if err := publish(b.partial, out); err != nil {
		return nil, err
	}
	if err := os.Remove(filepath.Join(out, stateFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return man, nil
}

// ReadForwardBaseline times what a plain classifier run over source costs:
// reading, decoding and preprocessing each of its first n readable images
// on a goroutine ahead of the forward passes, as `deepscope predict` or a
// build's scan does, with nothing else. It returns the mean time per image
// and the number timed.
func ReadForwardBaseline(ctx context.Context, m *model.Model, sc *model.Sidecar, source string, n int) (time.Duration, int, error) {
	src, err := openSource(source, 1)
	if err != nil {
		return 0, 0, err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start, k := time.Now(), 0
	for d := range src.read(rctx, 0, func(int) bool { return true }, sc.Preprocess) {
		if d.it.pos < 0 {
			return 0, 0, d.err
		}
		if d.err != nil {
			continue
		}
		a, err := m.Run(d.x)
		if err != nil {
			return 0, 0, err
		}
		a.Release()
		if k++; k == n {
			break
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	if k == 0 {
		return 0, 0, fmt.Errorf("no readable image in %s", source)
	}
	return time.Since(start) / time.Duration(k), k, nil
}

// ForwardBaseline times plain forward passes of m, to compare a build's
// throughput with: it reads the first n readable images of source (a
// folder or a video), preprocesses them, runs one warm-up pass, then times
// one pass per image. It returns the mean time per pass and the number
// timed.
func ForwardBaseline(ctx context.Context, m *model.Model, sc *model.Sidecar, source string, n int) (time.Duration, int, error) {
	src, err := openSource(source, 1)
	if err != nil {
		return 0, 0, err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var xs []*model.Tensor
	for d := range src.read(rctx, 0, func(int) bool { return true }, sc.Preprocess) {
		if d.it.pos < 0 {
			return 0, 0, d.err
		}
		if d.err == nil {
			xs = append(xs, d.x)
		}
		if len(xs) == n {
			cancel()
			break
		}
	}
	if len(xs) == 0 {
		return 0, 0, fmt.Errorf("no readable image in %s", source)
	}
	run := func(x *model.Tensor) error {
		a, err := m.Run(x)
		if err != nil {
			return err
		}
		a.Release()
		return nil
	}
	if err := run(xs[0]); err != nil {
		return 0, 0, err
	}
	start := time.Now()
	for _, x := range xs {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		if err := run(x); err != nil {
			return 0, 0, err
		}
	}
	return time.Since(start) / time.Duration(len(xs)), len(xs), nil
}
