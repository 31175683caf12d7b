package index

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/deepscope/deepscope/model"
)

func TestTopKExact(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	// Values from a small set so that ties (broken by image, then
	// position) are common; some images appear twice.
	var all []Entry
	for i := range 300 {
		all = append(all, Entry{Value: float32(r.IntN(20)), Image: fmt.Sprintf("img%03d", r.IntN(250)), Y: r.IntN(3), X: i % 5})
	}
	// Brute force: best entry per image, sorted by Compare, first k.
	best := map[string]Entry{}
	for _, e := range all {
		if b, ok := best[e.Image]; !ok || Compare(e, b) < 0 {
			best[e.Image] = e
		}
	}
	var want []Entry
	for _, e := range best {
		want = append(want, e)
	}
	slices.SortFunc(want, Compare)
	want = want[:9]

	tk := NewTopK(9)
	for _, e := range all {
		tk.Offer(e)
	}
	if got := tk.Entries(); !slices.Equal(got, want) {
		t.Fatalf("TopK:\n got %v\nwant %v", got, want)
	}
	// Any split into shards, merged in any grouping and order, gives the
	// same list.
	for trial := range 20 {
		n := 1 + trial%5
		shards := make([][]Entry, n)
		for _, e := range all {
			i := r.IntN(n)
			shards[i] = append(shards[i], e)
		}
		tops := make([][]Entry, n)
		for i, s := range shards {
			tops[i] = MergeEntries(9, s)
		}
		r.Shuffle(n, func(i, j int) { tops[i], tops[j] = tops[j], tops[i] })
		var got []Entry
		if n > 2 { // ((a b) c ...) grouping
			got = MergeEntries(9, MergeEntries(9, tops[:2]...), MergeEntries(9, tops[2:]...))
		} else {
			got = MergeEntries(9, tops...)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("merge of %d shards:\n got %v\nwant %v", n, got, want)
		}
	}
	if tk.Offer(Entry{Value: float32(nan()), Image: "nan"}) {
		t.Errorf("a NaN entry was kept")
	}
}

func nan() float64 { z := 0.0; return z / z }

// testModel is squeezenet (68 x 68 input, committed in testdata).
func testModel(t *testing.T) (*model.Model, *model.Sidecar, string) {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", "torch", "squeezenet1_1", "model.onnx")
	m, err := model.Load(path, model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sc := model.DefaultSidecar()
	if err := sc.FitInput(m.Input().Shape); err != nil {
		t.Fatal(err)
	}
	sc.Input.Resize = model.ResizeStretch
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	return m, sc, path
}

// testImages writes n synthetic pictures (blobs and stripes of random
// colours) and one corrupt file into a new folder.
func testImages(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(7, 8))
	for i := range n {
		img := image.NewRGBA(image.Rect(0, 0, 80, 68))
		c1 := color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}
		c2 := color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}
		cx, cy, rad, period := r.IntN(80), r.IntN(68), 5+r.IntN(20), 2+r.IntN(9)
		for y := range 68 {
			for x := range 80 {
				c := c1
				if (x+y)/period%2 == 0 {
					c = c2
				}
				if (x-cx)*(x-cx)+(y-cy)*(y-cy) < rad*rad {
					c = color.RGBA{255 - c.R, 255 - c.G, c.B / 2, 255}
				}
				img.Set(x, y, c)
			}
		}
		var buf bytes.Buffer
		png.Encode(&buf, img)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("img%02d.png", i)), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "corrupt.png"), []byte("\x89PNG\r\n\x1a\nnot really"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

var testLayers = []string{"/features/features.0/Conv_output_0", "/features/features.3/squeeze/Conv_output_0"}

func buildOpts(m *model.Model, sc *model.Sidecar, path, src, out string) Options {
	return Options{Model: m, ModelPath: path, Sidecar: sc, Source: src, Layers: testLayers, Top: 3, Out: out}
}

// readUnits returns every unit's entries of an index, by layer and unit.
func readUnits(t *testing.T, dir string) map[string][]EntryInfo {
	t.Helper()
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]EntryInfo{}
	for _, l := range ix.Manifest.Layers {
		for u := range l.Units {
			info, err := ix.Unit(l.Name, u)
			if err != nil {
				t.Fatal(err)
			}
			out[fmt.Sprintf("%s/%d", l.Name, u)] = info.Entries
		}
	}
	return out
}

// TestChannelMax checks the unrolled maximum against a plain scan: first
// position of the largest value, NaN ignored, ties and odd lengths.
func TestChannelMax(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	nan, inf := float32(math.NaN()), float32(math.Inf(-1))
	for trial := range 200 {
		h, w := 1+r.IntN(9), 1+r.IntN(11)
		v := model.NewTensor(1, 2, h, w)
		for i := range v.Data {
			switch r.IntN(10) {
			case 0:
				v.Data[i] = nan
			case 1:
				v.Data[i] = 3 // ties
			default:
				v.Data[i] = float32(r.NormFloat64())
			}
		}
		if trial%50 == 0 {
			plane := v.Data[:h*w]
			for i := range plane {
				plane[i] = nan // channel 0 all NaN
			}
			if _, _, _, ok := channelMax(v, 0); ok {
				t.Fatalf("all-NaN channel reported a maximum")
			}
			continue
		}
		for c := range 2 {
			best, at := inf, -1
			for i, f := range v.Data[c*h*w : (c+1)*h*w] {
				if f > best {
					best, at = f, i
				}
			}
			val, y, x, ok := channelMax(v, c)
			if ok != (at >= 0) || ok && (val != best || y != at/w || x != at%w) {
				t.Fatalf("trial %d channel %d (%dx%d): got %v at %d,%d ok=%v, want %v at %d,%d", trial, c, h, w, val, y, x, ok, best, at/w, at%w)
			}
		}
	}
}

func TestBuildExactAndMerge(t *testing.T) {
	m, sc, path := testModel(t)
	src := testImages(t, 5)
	tmp := t.TempDir()
	full := filepath.Join(tmp, "full")
	res, err := Build(context.Background(), buildOpts(m, sc, path, src, full))
	if err != nil {
		t.Fatal(err)
	}
	man := res.Manifest
	if man.Images != 5 || len(man.Skipped) != 1 || man.Skipped[0].Image != "corrupt.png" {
		t.Errorf("images %d, skipped %v; want 5 and corrupt.png", man.Images, man.Skipped)
	}
	units := readUnits(t, full)

	// Brute force: every image's per-channel maximum, top 3 by Compare.
	files, _ := filepath.Glob(filepath.Join(src, "img*.png"))
	sort.Strings(files)
	want := map[string][]Entry{}
	for _, f := range files {
		img, err := model.DecodeImage(f)
		if err != nil {
			t.Fatal(err)
		}
		a, err := m.Run(sc.Preprocess(img))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range testLayers {
			v, _ := a.Get(name)
			hw, w := v.Shape[2]*v.Shape[3], v.Shape[3]
			for c := range v.Shape[1] {
				best, at := v.Data[c*hw], 0
				for i, x := range v.Data[c*hw : (c+1)*hw] {
					if x > best {
						best, at = x, i
					}
				}
				k := fmt.Sprintf("%s/%d", name, c)
				want[k] = append(want[k], Entry{Value: best, Image: filepath.Base(f), Y: at / w, X: at % w})
			}
		}
		a.Release()
	}
	ix, _ := Open(full)
	for k, list := range want {
		slices.SortFunc(list, Compare)
		got := units[k]
		if len(got) != 3 {
			t.Fatalf("%s: %d entries, want 3", k, len(got))
		}
		for i, e := range got {
			if e.Entry != list[i] || e.Rank != i {
				t.Fatalf("%s entry %d: got %+v, want %+v", k, i, e.Entry, list[i])
			}
		}
	}
	// Files exist, crops have the nominal field's size times the scale.
	l := man.Layers[0]
	if l.Field != [2]int{3, 3} {
		t.Errorf("%s: field %v, want 3x3", l.Name, l.Field)
	}
	for _, e := range units[l.Name+"/5"] {
		for _, kind := range []string{RenderMax, RenderDeconv, RenderGuided} {
			p, _ := ix.Path(l.Name, 5, e.Files[kind])
			img, err := model.DecodeImage(p)
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != 3*e.Scale || b.Dy() != 3*e.Scale {
				t.Errorf("%s: %v, want %d x 3", p, b, 3*e.Scale)
			}
		}
	}
	if _, err := ix.Sheet(l.Name, 5); err != nil {
		t.Error(err)
	}

	// Two shards merged give the same entries and byte-identical files
	// (the reconstructions do not depend on how passes were packed).
	var shards []string
	for i := range 2 {
		o := buildOpts(m, sc, path, src, filepath.Join(tmp, fmt.Sprintf("shard%d", i)))
		o.Shard = Shard{i, 2}
		if _, err := Build(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		shards = append(shards, o.Out)
	}
	merged := filepath.Join(tmp, "merged")
	mm, err := Merge(context.Background(), merged, shards[1], shards[0])
	if err != nil {
		t.Fatal(err)
	}
	if mm.Images != 5 || len(mm.Skipped) != 1 || len(mm.Shards) != 2 {
		t.Errorf("merged manifest: %d images, %d skipped, shards %v", mm.Images, len(mm.Skipped), mm.Shards)
	}
	got := readUnits(t, merged)
	mix, _ := Open(merged)
	for k, list := range units {
		g := got[k]
		if len(g) != len(list) {
			t.Fatalf("%s: merged %d entries, full %d", k, len(g), len(list))
		}
		for i := range list {
			if g[i].Entry != list[i].Entry || g[i].Box != list[i].Box || g[i].Crop != list[i].Crop {
				t.Fatalf("%s entry %d: merged %+v, full %+v", k, i, g[i], list[i])
			}
		}
	}
	for _, k := range []string{testLayers[1] + "/7", testLayers[0] + "/40"} {
		var layer string
		var unit int
		fmt.Sscanf(k[len(k)-3:], "%d", &unit)
		for _, l := range testLayers {
			if len(k) > len(l) && k[:len(l)] == l {
				layer = l
				fmt.Sscanf(k[len(l)+1:], "%d", &unit)
			}
		}
		for _, e := range units[k] {
			for _, f := range e.Files {
				a, _ := ix.Path(layer, unit, f)
				b, _ := mix.Path(layer, unit, f)
				da, _ := os.ReadFile(a)
				db, _ := os.ReadFile(b)
				if len(da) == 0 || !bytes.Equal(da, db) {
					t.Errorf("%s %s: merged file differs from the full build's", k, f)
				}
			}
		}
	}
	// Shards of another model do not merge.
	other := filepath.Join(tmp, "other")
	o := buildOpts(m, sc, path, src, other)
	o.Top, o.NoReconstructions = 2, true
	if _, err := Build(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if _, err := Merge(context.Background(), filepath.Join(tmp, "bad"), full, other); err == nil {
		t.Errorf("merging indexes of different --top succeeded")
	}
}

func TestBuildCancelResume(t *testing.T) {
	m, sc, path := testModel(t)
	src := testImages(t, 6)
	tmp := t.TempDir()
	out := filepath.Join(tmp, "idx")
	// A first, finished index with one layer.
	o := buildOpts(m, sc, path, src, out)
	o.Layers = testLayers[:1]
	if _, err := Build(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(out, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	// A second build into the same directory, stopped after 3 images of
	// the scan, then (a third run) stopped in the render phase.
	o = buildOpts(m, sc, path, src, out)
	for _, stopAt := range []string{"scan", "render"} {
		ctx, cancel := context.WithCancel(context.Background())
		o.Progress = func(p Progress) {
			if p.Phase == stopAt && p.Done*2 >= p.Total {
				cancel()
			}
		}
		o.Checkpoint = 1 // save after every image
		_, err = Build(ctx, o)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("stopped in %s: error %v, want context.Canceled", stopAt, err)
		}
		after, err := os.ReadFile(filepath.Join(out, ManifestFile))
		if err != nil || !bytes.Equal(before, after) {
			t.Fatalf("stopped in %s: the previous index changed or went (%v)", stopAt, err)
		}
		if ix, err := Open(out); err != nil || len(ix.Manifest.Layers) != 1 {
			t.Fatalf("stopped in %s: the previous index does not open: %v", stopAt, err)
		}
	}
	// The rerun completes, scanning only what is left.
	o.Progress = nil
	res, err := Build(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || res.Scanned != 0 || res.Rendered == 0 || res.Rendered >= 6 {
		// (the render was stopped half way through its entries)
		t.Errorf("rerun: resumed %v, scanned %d, rendered %d; want a resumed render of the rest", res.Resumed, res.Scanned, res.Rendered)
	}
	if _, err := os.Stat(out + partialExt); !os.IsNotExist(err) {
		t.Errorf("the partial build is still there: %v", err)
	}
	// The result equals a build that was never stopped.
	fresh := filepath.Join(tmp, "fresh")
	if _, err := Build(context.Background(), buildOpts(m, sc, path, src, fresh)); err != nil {
		t.Fatal(err)
	}
	a, b := readUnits(t, out), readUnits(t, fresh)
	if len(a) != len(b) {
		t.Fatalf("resumed index has %d units, fresh %d", len(a), len(b))
	}
	for k := range b {
		if !slices.EqualFunc(a[k], b[k], func(x, y EntryInfo) bool { return x.Entry == y.Entry }) {
			t.Fatalf("%s: resumed %v, fresh %v", k, a[k], b[k])
		}
	}
	// A swap interrupted between its renames: the old index is read.
	if err := os.Rename(out, out+oldExt); err != nil {
		t.Fatal(err)
	}
	if ix, err := Open(out); err != nil || ix.Dir != out+oldExt {
		t.Errorf("Open after an interrupted swap: %v, %v", ix, err)
	}
}

// TestPackedPassesExact checks that seeds with disjoint fields packed into
// one backward pass give each exactly the gradient it gets alone.
func TestPackedPassesExact(t *testing.T) {
	m, sc, _ := testModel(t)
	src := testImages(t, 1)
	img, _ := model.DecodeImage(filepath.Join(src, "img00.png"))
	x := sc.Preprocess(img)
	a, err := m.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	in := m.Input()
	input := model.Box{Y1: in.Shape[2], X1: in.Shape[3]}
	layers := []string{testLayers[0], testLayers[1]}
	var jobs []*job
	for i, pos := range [][3]int{{0, 0, 1}, {0, 30, 30}, {0, 5, 25}, {1, 0, 0}, {1, 7, 7}, {0, 32, 2}} {
		rf, err := m.ReceptiveField(layers[pos[0]], pos[1], pos[2])
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, &job{layer: pos[0], unit: i, e: Entry{Y: pos[1], X: pos[2]}, rf: rf, crop: rf.Nominal})
	}
	passes := packPasses(jobs, input, []int{0, 1})
	if len(passes) >= len(jobs) {
		t.Fatalf("%d jobs in %d passes: nothing packed", len(jobs), len(passes))
	}
	seed := func(js []*job) map[string]*model.Tensor {
		s := map[string]*model.Tensor{}
		for _, j := range js {
			l, _ := m.Layer(layers[j.layer])
			if s[l.Name] == nil {
				s[l.Name] = model.NewTensor(l.Shape...)
			}
			s[l.Name].Data[(j.unit*l.Shape[2]+j.e.Y)*l.Shape[3]+j.e.X] = 1
		}
		return s
	}
	for _, mode := range []model.Mode{model.Deconvnet, model.Guided} {
		for _, pass := range passes {
			g, err := m.Backward(a, seed(pass), mode, in.Name)
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range pass {
				alone, err := m.Backward(a, seed([]*job{j}), mode, in.Name)
				if err != nil {
					t.Fatal(err)
				}
				ca, cb := cropTensor(alone[in.Name], j.crop), cropTensor(g[in.Name], j.crop)
				if !slices.Equal(ca.Data, cb.Data) {
					t.Errorf("%v job %d: packed crop differs from its own pass", mode, j.unit)
				}
				nonzero := slices.ContainsFunc(ca.Data, func(v float32) bool { return v != 0 })
				if !nonzero && mode == model.Deconvnet {
					t.Errorf("job %d: empty reconstruction", j.unit)
				}
			}
		}
	}
}

func TestParseShard(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{{"0/1", true}, {"3/4", true}, {"4/4", false}, {"-1/2", false}, {"1/0", false}, {"a/b", false}, {"1/2x", false}} {
		s, err := ParseShard(c.in)
		if (err == nil) != c.ok {
			t.Errorf("ParseShard(%q) = %v, %v", c.in, s, err)
		}
	}
	s := Shard{1, 3}
	var got []int
	for j := range 9 {
		if s.has(j) {
			got = append(got, j)
		}
	}
	if !slices.Equal(got, []int{1, 4, 7}) {
		t.Errorf("shard 1/3 takes %v", got)
	}
}
