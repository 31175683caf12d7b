package ui

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/image/draw"

	"github.com/deepscope/deepscope/model"
	"github.com/deepscope/deepscope/vis/index"
)

// The inspector's top-9 (deepvis's max_im and max_deconv panes): the
// cursor unit's top-k dataset crops and their deconvnet reconstructions
// from an opened index (vis/index, built by `deepscope index` or from the
// File ▸ Index menu), and the live variant: the top-k frames seen so far
// from the current source for the selected layer's units (index.Live),
// updated as the stream runs.

// top9Slot is the job slot that reads a unit's pictures from the index.
const top9Slot = "top-9"

// liveTop is the number of frames the live top-k keeps per unit.
const liveTop = 9

// liveEvery is how often, at most, the live top-k's pictures are redrawn:
// tracking is cheap (a maximum per channel per frame), cutting and
// scaling the crops less so.
const liveEvery = 300 * time.Millisecond

// sheetCell is the size of a cell of a top-k sheet, in pixels.
const sheetCell = 72

// maxSheets bounds the units whose index pictures are kept.
const maxSheets = 64

// indexSheet is a unit's top-k from the index, drawn.
type indexSheet struct {
	key   optKey
	layer string // the index's layer shown (the cursor's, or its input)
	note  string // what is shown instead, and why
	err   error  // nothing to show: why
	// maxImgs and deconvImgs are the entries' crops and deconvnet
	// reconstructions, best first; max and deconv the sheets of them.
	maxImgs, deconvImgs []image.Image
	max, deconv         *image.RGBA
	values              []float32
}

// liveSheet is a unit's live top-k, drawn.
type liveSheet struct {
	key    optKey
	seen   int // frames seen when drawn
	crops  []image.Image
	sheet  *image.RGBA
	values []float32
	err    error
}

// topNine holds the opened index and the live top-k; mu guards it.
type topNine struct {
	mu      sync.Mutex
	ix      *index.Index
	sess    *session // whose layers the sheets are of
	sheets  map[optKey]*indexSheet
	order   []optKey // the sheets' keys, oldest first
	job     *Job
	jobKey  optKey
	version uint64 // changes when a sheet arrives or the index changes

	live       *index.Live
	liveSess   *session
	liveSource string
	liveKey    string // the last frame observed (liveFrameKey)
	liveErr    error
	liveView   *liveSheet
	liveAt     time.Time
}

// openIndex opens the index in dir for the inspector's top-9.
func (a *App) openIndex(dir string) error {
	ix, err := index.Open(dir)
	if err != nil {
		return fmt.Errorf("open index: %w", err)
	}
	t := &a.top9
	t.mu.Lock()
	t.ix, t.sheets, t.order = ix, map[optKey]*indexSheet{}, nil
	if t.job != nil {
		t.job.Cancel()
	}
	t.version++
	t.mu.Unlock()
	m := ix.Manifest
	a.logf("index %s: %d images, %d layers, top %d", ix.Dir, m.Images, len(m.Layers), m.Top)
	a.schedule()
	a.kick()
	return nil
}

// closeIndex forgets the opened index.
func (a *App) closeIndex() {
	t := &a.top9
	t.mu.Lock()
	t.ix, t.sheets, t.order = nil, nil, nil
	if t.job != nil {
		t.job.Cancel()
	}
	t.version++
	t.mu.Unlock()
	a.kick()
}

// scheduleTop9 reads the cursor unit's pictures from the index in the
// background when they are not loaded yet (moving on cancels the read).
func (a *App) scheduleTop9() {
	a.mu.Lock()
	st, sess := a.st, a.sess
	a.mu.Unlock()
	t := &a.top9
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.job != nil && a.jobs.Running(top9Slot) != t.job {
		t.job = nil
	}
	if t.sess != sess && t.ix != nil {
		t.sess, t.sheets, t.order = sess, map[optKey]*indexSheet{}, nil // another model: read again
		t.version++
	}
	cur := st.Current()
	if t.ix == nil || sess == nil || cur.Name == "" || a.closed.Load() {
		if t.job != nil {
			t.job.Cancel()
		}
		return
	}
	k := optKey{cur.Name, st.Unit}
	if t.sheets[k] != nil || (t.job != nil && t.jobKey == k) {
		return
	}
	ix := t.ix
	t.jobKey = k
	t.job = a.jobs.Start(top9Slot, "top-9 "+k.String(), func(j *Job) error {
		s := loadIndexSheet(j.Context(), ix, sess.m, k)
		if j.Cancelled() {
			return context.Canceled
		}
		t.mu.Lock()
		if t.ix == ix && t.sess == sess {
			t.sheets[k] = s
			t.order = append(t.order, k)
			for len(t.order) > maxSheets {
				delete(t.sheets, t.order[0])
				t.order = t.order[1:]
			}
			t.version++
		}
		t.mu.Unlock()
		return nil
	})
}

// indexSheetFor returns the cursor unit's index pictures, or the last
// loaded ones (stale) while they load; nil without an index.
func (a *App) indexSheetFor(k optKey) (s *indexSheet, stale bool, ix *index.Index, loading bool) {
	t := &a.top9
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ix == nil {
		return nil, false, nil, false
	}
	loading = t.job != nil && t.jobKey == k && a.jobs.Running(top9Slot) == t.job
	if s := t.sheets[k]; s != nil {
		return s, false, t.ix, loading
	}
	if n := len(t.order); n > 0 {
		return t.sheets[t.order[n-1]], true, t.ix, loading
	}
	return nil, true, t.ix, loading
}

// monotone are the elementwise activations that keep the order of
// values: a unit after one of them has the same top images as before it.
var monotone = []string{"Relu", "LeakyRelu", "Elu", "Selu", "Sigmoid", "HardSigmoid", "Tanh", "Clip", "Softplus"}

// indexLayerFor returns the index layer to show for the explorer's layer:
// itself when indexed, else the input of an order-keeping activation
// (relu12 shows conv12's entries, which are the same images), with a note
// saying so; an error saying the layer is not in the index otherwise.
func indexLayerFor(ix *index.Index, m *model.Model, layer string) (string, string, error) {
	if _, err := ix.Layer(layer); err == nil {
		return layer, "", nil
	}
	if op, in, ok := m.Producer(layer); ok && slices.Contains(monotone, op) && len(in) > 0 {
		if _, err := ix.Layer(in[0]); err == nil {
			return in[0], fmt.Sprintf("%s is not in the index: showing %s, its input through %s (the same top images)", layer, in[0], op), nil
		}
	}
	names := make([]string, len(ix.Manifest.Layers))
	for i, l := range ix.Manifest.Layers {
		names[i] = l.Name
	}
	list := strings.Join(names, ", ")
	if len(list) > 160 {
		list = list[:160] + "…"
	}
	return "", "", fmt.Errorf("%s is not in this index (it has %s)", layer, list)
}

// loadIndexSheet reads unit k's top-k pictures from ix and draws them.
func loadIndexSheet(ctx context.Context, ix *index.Index, m *model.Model, k optKey) *indexSheet {
	s := &indexSheet{key: k}
	layer, note, err := indexLayerFor(ix, m, k.Layer)
	if err != nil {
		s.err = err
		return s
	}
	s.layer, s.note = layer, note
	if name := strings.TrimSuffix(ix.Manifest.Model, ".onnx"); name != "" && name != "." && m.Name != "" && name != m.Name {
		s.note = strings.TrimSpace(s.note + fmt.Sprintf(" (the index is of %s, the model open is %s)", ix.Manifest.Model, m.Name))
	}
	if ctx.Err() != nil {
		return s
	}
	s.maxImgs, _, err = imagesOf(ix, layer, k.Unit, index.RenderMax)
	if err != nil {
		s.err = err
		return s
	}
	u, err := ix.Unit(layer, k.Unit)
	if err != nil {
		s.err = err
		return s
	}
	for _, e := range u.Entries {
		s.values = append(s.values, e.Value)
	}
	if ctx.Err() != nil {
		return s
	}
	if slices.Contains(ix.Manifest.Renderings, index.RenderDeconv) {
		if s.deconvImgs, _, err = imagesOf(ix, layer, k.Unit, index.RenderDeconv); err != nil {
			s.err = err
			return s
		}
	}
	s.max = sheetOf(s.maxImgs, ix.Manifest.Top, sheetCell)
	if len(s.deconvImgs) > 0 {
		s.deconv = sheetOf(s.deconvImgs, ix.Manifest.Top, sheetCell)
	}
	return s
}

// imagesOf is ix.Images with the error worded for the pane.
func imagesOf(ix *index.Index, layer string, unit int, kind string) ([]image.Image, *index.UnitInfo, error) {
	imgs, u, err := ix.Images(layer, unit, kind)
	if err != nil {
		return nil, nil, fmt.Errorf("%s unit %d: %w", layer, unit, err)
	}
	return imgs, u, nil
}

// sheetOf draws pictures in a square-ish grid of cell x cell cells laid
// out for at least slots of them (3 x 3 for a top-9, however many there
// are yet), best first, each scaled to fit its cell.
func sheetOf(imgs []image.Image, slots, cell int) *image.RGBA {
	n := max(len(imgs), slots)
	cols := sheetCols(n)
	rows := max(1, (n+cols-1)/cols)
	const gap = 2
	out := image.NewRGBA(image.Rect(0, 0, cols*cell+(cols-1)*gap, rows*cell+(rows-1)*gap))
	fill(out, colBackground)
	for i, img := range imgs {
		if img == nil {
			continue
		}
		x, y := (i%cols)*(cell+gap), (i/cols)*(cell+gap)
		fitInto(out, image.Rect(x, y, x+cell, y+cell), img)
	}
	return out
}

// sheetCols is the number of columns of a sheet of n cells.
func sheetCols(n int) int { return max(1, int(math.Ceil(math.Sqrt(float64(n))))) }

// sheetCellRect returns cell i's pixels in a sheet of n cells.
func sheetCellRect(n, i, cell int) image.Rectangle {
	cols := sheetCols(n)
	const gap = 2
	x, y := (i%cols)*(cell+gap), (i/cols)*(cell+gap)
	return image.Rect(x, y, x+cell, y+cell)
}

// fitInto scales src to fit r of dst, centred, keeping its aspect ratio:
// nearest neighbour when enlarging (receptive-field crops are small and
// their pixels should show), bilinear when shrinking.
func fitInto(dst *image.RGBA, r image.Rectangle, src image.Image) {
	sb := src.Bounds()
	if sb.Empty() || r.Empty() {
		return
	}
	s := math.Min(float64(r.Dx())/float64(sb.Dx()), float64(r.Dy())/float64(sb.Dy()))
	w, h := max(1, int(s*float64(sb.Dx()))), max(1, int(s*float64(sb.Dy())))
	x0, y0 := r.Min.X+(r.Dx()-w)/2, r.Min.Y+(r.Dy()-h)/2
	to := image.Rect(x0, y0, x0+w, y0+h)
	if s >= 1 {
		draw.NearestNeighbor.Scale(dst, to, src, sb, draw.Src, nil)
	} else {
		draw.ApproxBiLinear.Scale(dst, to, src, sb, draw.Src, nil)
	}
}

// observeLive offers frame f to the live top-k of the selected layer,
// starting the tracking afresh for another layer, model or source. It
// runs on the frame goroutine (compose) and costs one pass over the
// layer's values; the network's view of the frame is only drawn when a
// unit keeps it.
func (a *App) observeLive(st State, sess *session, f *frame) {
	cur := st.Current()
	if sess == nil || f == nil || cur.Name == "" {
		return
	}
	a.mu.Lock()
	source := a.sourceSpec
	a.mu.Unlock()
	t := &a.top9
	t.mu.Lock()
	if t.live == nil || t.liveSess != sess || t.live.Layer() != cur.Name || t.liveSource != source {
		lv, err := index.NewLive(sess.m, cur.Name, liveTop)
		t.live, t.liveSess, t.liveSource, t.liveErr, t.liveKey, t.liveView = lv, sess, source, err, "", nil
	}
	lv := t.live
	key := liveFrameKey(f)
	seen := key == t.liveKey
	t.liveKey = key
	t.mu.Unlock()
	if lv == nil || seen {
		return
	}
	v, err := f.get(cur.Name)
	if err == nil {
		_, err = lv.Observe(key, v, func() image.Image {
			img := image.NewRGBA(image.Rect(0, 0, f.input.Shape[3], f.input.Shape[2]))
			inputPicture(img, f.input, sess.space)
			return img
		})
	}
	if err != nil {
		t.mu.Lock()
		t.liveErr = err
		t.mu.Unlock()
	}
}

// liveFrameKey names a frame for the live top-k by its place in the
// source (the file, the video frame number), so that a frame computed
// again (frozen, a still image, a folder stepped back) counts once; frames
// without a place are named by their sequence number.
func liveFrameKey(f *frame) string {
	if f.name != "" || f.pos > 0 {
		return fmt.Sprintf("frame_%06d %s", f.pos, filepath.Base(f.name))
	}
	return fmt.Sprintf("seq_%06d", f.seq)
}

// liveSheetFor returns the cursor unit's live top-k, redrawn when the
// unit changed or, at most every liveEvery, when more frames were seen.
func (a *App) liveSheetFor(k optKey, now time.Time) (*liveSheet, error) {
	t := &a.top9
	t.mu.Lock()
	lv, v, at, lerr := t.live, t.liveView, t.liveAt, t.liveErr
	t.mu.Unlock()
	if lv == nil || lv.Layer() != k.Layer {
		if lerr != nil {
			return nil, lerr
		}
		return nil, nil
	}
	seen := lv.Seen()
	if v != nil && v.key == k && (v.seen == seen || now.Sub(at) < liveEvery) {
		return v, lerr
	}
	nv := &liveSheet{key: k, seen: seen}
	top, err := lv.Top(k.Unit)
	if err != nil {
		nv.err = err
	}
	for _, e := range top {
		nv.crops = append(nv.crops, e.Crop)
		nv.values = append(nv.values, e.Value)
	}
	if len(nv.crops) > 0 {
		nv.sheet = sheetOf(nv.crops, liveTop, sheetCell)
	}
	t.mu.Lock()
	if t.live == lv {
		t.liveView, t.liveAt = nv, now
		t.version++
	}
	t.mu.Unlock()
	return nv, lerr
}

// valuesText lists a top-k's values for the pane.
func valuesText(v []float32) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%.3g", x)
	}
	return strings.Join(parts, " ")
}

// errNoIndex is shown when no index is open.
var errNoIndex = errors.New("no index open: File ▸ Index ▸ Open index… or Build index from folder…")
