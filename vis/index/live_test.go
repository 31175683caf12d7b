package index

import (
	"context"
	"fmt"
	"image"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/deepscope/deepscope/model"
)

func TestLive(t *testing.T) {
	m, sc, _ := testModel(t)
	src := testImages(t, 6)
	layer := testLayers[1]
	lv, err := NewLive(m, layer, 2)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(src, "img*.png"))
	sort.Strings(files)
	var all [][]Entry // per unit, every frame's entry
	views := 0
	for i, f := range files {
		img, _ := model.DecodeImage(f)
		x := sc.Preprocess(img)
		a, err := m.Run(x)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := a.Get(layer)
		key := fmt.Sprintf("frame_%06d", i)
		if _, err := lv.Observe(key, v, func() image.Image { views++; return sc.ToImage(x) }); err != nil {
			t.Fatal(err)
		}
		all = slices.Grow(all, v.Shape[1])
		for c := range v.Shape[1] {
			if len(all) <= c {
				all = append(all, nil)
			}
			val, y, xx, _ := channelMax(v, c)
			all[c] = append(all[c], Entry{Value: val, Image: key, Y: y, X: xx})
		}
		a.Release()
	}
	if lv.Seen() != 6 || views == 0 || views > 6 {
		t.Errorf("seen %d frames, %d views taken", lv.Seen(), views)
	}
	used := map[string]bool{}
	for c, list := range all {
		slices.SortFunc(list, Compare)
		top, err := lv.Top(c)
		if err != nil {
			t.Fatal(err)
		}
		if len(top) != 2 {
			t.Fatalf("unit %d: %d entries", c, len(top))
		}
		for i, e := range top {
			if e.Entry != list[i] {
				t.Errorf("unit %d entry %d: %+v, want %+v", c, i, e.Entry, list[i])
			}
			if e.Frame == nil || e.Crop == nil || e.Crop.Bounds().Dx() != e.Field.Nominal.Dx() {
				t.Errorf("unit %d entry %d: frame %v, crop %v, field %v", c, i, e.Frame != nil, e.Crop, e.Field)
			}
			used[e.Image] = true
		}
	}
	if len(lv.frames) != len(used) {
		t.Errorf("%d frames kept, %d referenced", len(lv.frames), len(used))
	}
	if _, err := lv.Top(999); err == nil {
		t.Errorf("Top(999): no error")
	}
	lv.Reset()
	if top, _ := lv.Top(0); len(top) != 0 || lv.Seen() != 0 {
		t.Errorf("after Reset: %d entries, %d seen", len(top), lv.Seen())
	}
	if _, err := NewLive(m, m.Output(), 2); err != nil {
		t.Errorf("a 1 x C layer: %v", err)
	}
}

func TestEmbed(t *testing.T) {
	m, sc, _ := testModel(t)
	src := testImages(t, 12)
	emb, err := Embed(context.Background(), EmbedOptions{Model: m, Sidecar: sc, Layer: testLayers[1], Source: src,
		Perplexity: 3, Iterations: 300, Size: 200, Thumb: 20, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(emb.Names) != 12 || len(emb.Points) != 12 || len(emb.Skipped) != 1 || emb.Image.Bounds().Dx() != 200 {
		t.Fatalf("names %d, points %d, skipped %d, image %v", len(emb.Names), len(emb.Points), len(emb.Skipped), emb.Image.Bounds())
	}
	for _, p := range emb.Points {
		if !(p[0] >= 0 && p[0] <= 1 && p[1] >= 0 && p[1] <= 1) {
			t.Fatalf("point %v outside the unit square", p)
		}
	}
}

// TestTSNESeparates checks t-SNE on three well separated clusters: each
// point's nearest neighbour in the plane is in its own cluster.
func TestTSNESeparates(t *testing.T) {
	var x [][]float64
	for c := range 3 {
		for i := range 15 {
			p := make([]float64, 10)
			for d := range p {
				p[d] = float64(c*10) + float64((i*7+d*3)%5)*0.2
			}
			x = append(x, p)
		}
	}
	y, err := tsne(context.Background(), x, 5, 400, 1, func(int) {})
	if err != nil {
		t.Fatal(err)
	}
	for i := range y {
		best, at := 1e300, -1
		for j := range y {
			if d := (y[i][0]-y[j][0])*(y[i][0]-y[j][0]) + (y[i][1]-y[j][1])*(y[i][1]-y[j][1]); j != i && d < best {
				best, at = d, j
			}
		}
		if at/15 != i/15 {
			t.Fatalf("point %d (cluster %d): nearest neighbour %d is in cluster %d", i, i/15, at, at/15)
		}
	}
}
