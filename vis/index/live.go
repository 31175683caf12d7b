package index

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"sync"

	"github.com/deepscope/deepscope/camera"
	"github.com/deepscope/deepscope/model"
)

// Live keeps, for every unit of one layer, the top-k frames of a stream seen
// so far (by the unit's maximum over positions): the live counterpart of an
// index for the explorer's unit inspector, updated as the stream runs. It
// keeps the network's view of every frame some entry refers to, and no
// other. It is safe for concurrent use: the pipeline's consumer observes,
// the UI reads.
type Live struct {
	m     *model.Model
	layer model.Layer
	k     int

	mu     sync.Mutex
	tops   []*TopK
	frames map[string][]byte // JPEG: a 512-channel layer may keep 4608 frames
	seen   int
	rf     map[[2]int]model.ReceptiveField
}

// liveQuality is the JPEG quality of the kept frames: the top frames of
// every unit of a wide layer can be thousands of frames, 200 KB each raw
// at 224 x 224 and about a tenth of that compressed.
const liveQuality = 90

// LiveEntry is one of a unit's top frames.
type LiveEntry struct {
	Entry
	// Frame is the network's view of the frame, Crop its receptive-field
	// crop at the entry's position (black past the input's border).
	Frame, Crop image.Image
	// Field is the position's receptive field.
	Field model.ReceptiveField
}

// NewLive tracks the top k frames of every unit of layer, which must be
// 1 x C x H x W or 1 x C.
func NewLive(m *model.Model, layer string, k int) (*Live, error) {
	l, err := m.Layer(layer)
	if err != nil {
		return nil, err
	}
	if l.DType != model.Float32 || (len(l.Shape) != 4 && len(l.Shape) != 2) || l.Shape[0] != 1 {
		return nil, fmt.Errorf("layer %s has shape %s: only 1 x C x H x W and 1 x C layers can be tracked", layer, model.ShapeString(l.Shape))
	}
	lv := &Live{m: m, layer: l, k: max(k, 1)}
	lv.Reset()
	return lv, nil
}

// Layer is the tracked layer's name.
func (l *Live) Layer() string { return l.layer.Name }

// Reset forgets every frame seen.
func (l *Live) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tops = make([]*TopK, l.layer.Shape[1])
	for i := range l.tops {
		l.tops[i] = NewTopK(l.k)
	}
	l.frames = map[string][]byte{}
	l.rf = map[[2]int]model.ReceptiveField{}
	l.seen = 0
}

// Seen is the number of frames observed since the last Reset.
func (l *Live) Seen() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seen
}

// Observe offers one frame: key names it (unique in the stream), value is
// the layer's output for it and view returns the network's view of the
// frame, called only when some unit keeps it. It reports whether any unit
// did.
func (l *Live) Observe(key string, value *model.Tensor, view func() image.Image) (bool, error) {
	if value == nil || !model.SameShape(value.Shape, l.layer.Shape) || value.DType != model.Float32 {
		return false, fmt.Errorf("live: layer %s wants a value of shape %s, got %v", l.layer.Name, model.ShapeString(l.layer.Shape), value)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen++
	kept := false
	for c, t := range l.tops {
		if v, y, x, ok := channelMax(value, c); ok && t.Offer(Entry{Value: v, Image: key, Y: y, X: x}) {
			kept = true
		}
	}
	if !kept {
		return false, nil
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, view(), &jpeg.Options{Quality: liveQuality}); err != nil {
		return false, fmt.Errorf("live: keep frame %s: %w", key, err)
	}
	l.frames[key] = buf.Bytes()
	used := map[string]bool{}
	for _, t := range l.tops {
		for _, e := range t.e {
			used[e.Image] = true
		}
	}
	for k := range l.frames {
		if !used[k] {
			delete(l.frames, k)
		}
	}
	return true, nil
}

// ObserveSnapshot offers a frame of the live pipeline, named by its
// sequence number; sc is the pipeline's preprocessing (to show the
// network's view).
func (l *Live) ObserveSnapshot(s *camera.Snapshot, sc *model.Sidecar) (bool, error) {
	v, err := s.Get(l.layer.Name)
	if err != nil {
		return false, err
	}
	return l.Observe(fmt.Sprintf("frame_%06d", s.Seq), v, func() image.Image { return sc.ToImage(s.Input) })
}

// Top returns a unit's top frames so far, best first, with their
// receptive-field crops.
func (l *Live) Top(unit int) ([]LiveEntry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if unit < 0 || unit >= len(l.tops) {
		return nil, fmt.Errorf("layer %s has units 0..%d, not %d", l.layer.Name, len(l.tops)-1, unit)
	}
	var out []LiveEntry
	for _, e := range l.tops[unit].e {
		rf, ok := l.rf[[2]int{e.Y, e.X}]
		if !ok {
			var pos []int
			if len(l.layer.Shape) == 4 {
				pos = []int{e.Y, e.X}
			}
			var err error
			if rf, err = l.m.ReceptiveField(l.layer.Name, pos...); err != nil {
				return nil, err
			}
			l.rf[[2]int{e.Y, e.X}] = rf
		}
		var f image.Image
		if b, ok := l.frames[e.Image]; ok {
			var err error
			if f, err = jpeg.Decode(bytes.NewReader(b)); err != nil {
				return nil, fmt.Errorf("live: frame %s: %w", e.Image, err)
			}
		}
		le := LiveEntry{Entry: e, Frame: f, Field: rf}
		if f != nil {
			crop := rf.Nominal
			if crop.Empty() {
				b := f.Bounds()
				crop = model.Box{Y1: b.Dy(), X1: b.Dx()}
			}
			le.Crop = cropImage(f, crop)
		}
		out = append(out, le)
	}
	return out, nil
}
