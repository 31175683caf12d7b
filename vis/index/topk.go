// Package index mines a dataset for what the units of a network respond
// to, as the Deep Visualization Toolbox's offline scripts did
// (find_max_acts, crop_max_patches): for every channel of the chosen layers
// it keeps the top-k images (value, image, position of the maximum), cuts
// the receptive field of each out of the input, and renders its deconvnet
// and guided-backpropagation reconstructions restricted to that crop. The
// result is a directory of plain files (see Index), built resumably and in
// shards that merge exactly (Build, Merge). Live does the same for the
// frames of a running stream, Embed lays images out by t-SNE of a layer's
// features.
package index

import (
	"cmp"
	"math"
	"slices"

	"github.com/deepscope/deepscope/model"
)

// Entry is one kept activation: a unit's maximum over the positions of one
// image.
type Entry struct {
	Value float32 `json:"value"`
	// Image is the image's key in its source: a file name relative to
	// the folder, or "frame_000123" for a video frame.
	Image string `json:"image"`
	// Y and X are the position of the maximum in the layer (0, 0 for a
	// layer without spatial axes).
	Y int `json:"y"`
	X int `json:"x"`
}

// Compare orders entries best first: larger value, then smaller image key,
// then position. It is a total order on distinct entries, which makes top-k
// selection independent of the order entries arrive in, and merging of
// top-k lists exact and associative.
func Compare(a, b Entry) int {
	if a.Value != b.Value {
		if a.Value > b.Value {
			return -1
		}
		return 1
	}
	return cmp.Or(cmp.Compare(a.Image, b.Image), cmp.Compare(a.Y, b.Y), cmp.Compare(a.X, b.X))
}

// TopK keeps the k best entries offered (by Compare), at most one per
// image. The zero value is not usable: use NewTopK.
type TopK struct {
	k int
	e []Entry // best first
}

// NewTopK returns an empty TopK of capacity k (at least 1).
func NewTopK(k int) *TopK {
	k = max(k, 1)
	return &TopK{k: k, e: make([]Entry, 0, k)}
}

// Offer adds e if it is among the k best so far and reports whether it was
// kept. NaN values are never kept. An entry for an image already kept
// replaces it only when better.
func (t *TopK) Offer(e Entry) bool {
	if e.Value != e.Value { // NaN
		return false
	}
	if len(t.e) == t.k && Compare(e, t.e[len(t.e)-1]) >= 0 {
		return false
	}
	if i := slices.IndexFunc(t.e, func(o Entry) bool { return o.Image == e.Image }); i >= 0 {
		if Compare(e, t.e[i]) >= 0 {
			return false
		}
		t.e = slices.Delete(t.e, i, i+1)
	}
	i, _ := slices.BinarySearchFunc(t.e, e, Compare)
	if len(t.e) == t.k {
		t.e = t.e[:len(t.e)-1]
	}
	t.e = slices.Insert(t.e, i, e)
	return true
}

// Entries returns the kept entries, best first (a copy).
func (t *TopK) Entries() []Entry { return slices.Clone(t.e) }

// Len is the number of entries kept.
func (t *TopK) Len() int { return len(t.e) }

// MergeEntries returns the k best entries of the union of lists, at most one per
// image (the best). Merge is associative and commutative: merging shards in
// any grouping gives the top k of all their images.
func MergeEntries(k int, lists ...[]Entry) []Entry {
	t := NewTopK(k)
	for _, l := range lists {
		for _, e := range l {
			t.Offer(e)
		}
	}
	return t.Entries()
}

// channelMax returns, for one channel of a [1, C, H, W] (or [1, C]) layer
// value, its largest value and the first position holding it in row-major
// order; ok false when the channel holds nothing above -Inf (all NaN).
func channelMax(v *model.Tensor, c int) (val float32, y, x int, ok bool) {
	hw, w := 1, 1
	if v.Rank() == 4 {
		hw, w = v.Shape[2]*v.Shape[3], v.Shape[3]
	}
	plane := v.Data[c*hw : (c+1)*hw]
	best := planeMax(plane)
	if math.IsInf(float64(best), -1) {
		return 0, 0, 0, false // all NaN or -Inf
	}
	at := slices.Index(plane, best)
	return best, at / w, at % w, true
}

// planeMax returns the largest value of p, ignoring NaN (-Inf when there is
// none). Four running maxima let the comparisons of neighbouring values
// overlap; the compare-and-keep form compiles to conditional moves.
func planeMax(p []float32) float32 {
	inf := float32(math.Inf(-1))
	m0, m1, m2, m3 := inf, inf, inf, inf
	i := 0
	for ; i+4 <= len(p); i += 4 {
		q := p[i : i+4 : i+4]
		if q[0] > m0 {
			m0 = q[0]
		}
		if q[1] > m1 {
			m1 = q[1]
		}
		if q[2] > m2 {
			m2 = q[2]
		}
		if q[3] > m3 {
			m3 = q[3]
		}
	}
	for ; i < len(p); i++ {
		if p[i] > m0 {
			m0 = p[i]
		}
	}
	return max(m0, m1, m2, m3)
}
