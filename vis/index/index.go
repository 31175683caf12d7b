package index

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/deepscope/deepscope/model"
	"github.com/deepscope/deepscope/vis"
)

// An index is a directory of plain files a person can browse:
//
//	INDEX/manifest.json                 what was indexed, how (Manifest)
//	INDEX/<layer>/unit_0042/info.json   the unit's top-k entries (UnitInfo)
//	INDEX/<layer>/unit_0042/max_00.jpg  the receptive-field crop of entry 0
//	INDEX/<layer>/unit_0042/deconv_00.jpg, guided_00.jpg
//	                                    its deconvnet and guided-backprop
//	                                    reconstructions, the same crop
//
// It is written atomically: a build (or merge) works in INDEX.partial and
// only a finished one replaces INDEX (the old one moves to INDEX.old for
// the instant of the swap), so a killed run never leaves a half-written
// index where Open looks, and the previous index stays readable. The
// partial directory keeps the build's state: a second run with the same
// parameters continues where the first stopped.

// File names inside an index.
const (
	ManifestFile = "manifest.json"
	UnitInfoFile = "info.json"
	partialExt   = ".partial"
	oldExt       = ".old"
	stateFile    = "state.json"
)

// Renderings an index holds for every entry, by file prefix.
const (
	RenderMax    = "max"
	RenderDeconv = "deconv"
	RenderGuided = "guided"
)

// FormatVersion is the version of the on-disk layout.
const FormatVersion = 1

// Manifest describes an index.
type Manifest struct {
	Version int `json:"version"`
	// Model is the model's file name, ModelSHA256 its content hash: merge
	// refuses shards of different models.
	Model       string `json:"model"`
	ModelSHA256 string `json:"model_sha256"`
	// Input is the network input.
	Input      Input           `json:"input"`
	Preprocess model.InputSpec `json:"preprocess"`
	Source     Source          `json:"source"`
	// Shards lists the shards the index holds: one for a build, several
	// after a merge.
	Shards []Shard     `json:"shards"`
	Top    int         `json:"top"`
	Layers []LayerInfo `json:"layers"`
	// Images counts the images indexed; Skipped those that could not be
	// read (corrupt or unsupported files).
	Images  int    `json:"images"`
	Skipped []Skip `json:"skipped,omitempty"`
	// Renderings lists the per-entry files: max, deconv, guided.
	Renderings []string `json:"renderings"`
	Created    string   `json:"created"`
	// Times of the build, in seconds (zero after a merge).
	Times Times `json:"times"`
}

// Input is a network input's name and shape.
type Input struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
}

// Source is what an index was built from.
type Source struct {
	Path string `json:"path"`
	Kind string `json:"kind"` // "folder" or "video"
	// Items is the number of images in the folder, or of frames read
	// from the video.
	Items int `json:"items"`
	// Every is the frame step of a video (every n-th frame).
	Every int `json:"every,omitempty"`
}

// Shard is the part i of n of a source: every n-th item from item i.
type Shard struct {
	I int `json:"i"`
	N int `json:"n"`
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.I, s.N) }

// ParseShard parses "i/n" with 0 <= i < n.
func ParseShard(v string) (Shard, error) {
	var s Shard
	if _, err := fmt.Sscanf(v, "%d/%d", &s.I, &s.N); err != nil || s.N < 1 || s.I < 0 || s.I >= s.N || fmt.Sprintf("%d/%d", s.I, s.N) != strings.TrimSpace(v) {
		return Shard{}, fmt.Errorf("shard %q: want i/n with 0 <= i < n, e.g. 0/4", v)
	}
	return s, nil
}

// has reports whether item j belongs to the shard.
func (s Shard) has(j int) bool { return s.N <= 1 || j%s.N == s.I }

// LayerInfo describes one indexed layer.
type LayerInfo struct {
	Name  string `json:"name"`
	Op    string `json:"op"`
	Shape []int  `json:"shape"`
	Units int    `json:"units"`
	// Dir is the layer's directory in the index (its name made safe).
	Dir string `json:"dir"`
	// Field is the nominal receptive field size (height, width) of its
	// positions in input pixels.
	Field [2]int `json:"field"`
}

// Skip is an image that could not be indexed.
type Skip struct {
	Image string `json:"image"`
	Error string `json:"error"`
}

// Times are a build's phases in seconds.
type Times struct {
	Scan    float64 `json:"scan"`
	Forward float64 `json:"forward"` // the forward passes of the scan alone
	Render  float64 `json:"render"`
}

// UnitInfo is a unit's info.json.
type UnitInfo struct {
	Layer   string      `json:"layer"`
	Unit    int         `json:"unit"`
	Entries []EntryInfo `json:"entries"`
}

// EntryInfo is one of a unit's top-k entries with its files.
type EntryInfo struct {
	Rank int `json:"rank"`
	Entry
	// Box is the exact receptive field of the position in network-input
	// pixels [y0, x0, y1, x1) (see model.ReceptiveField); Crop the region
	// the pictures show (the nominal field, which may reach past the
	// input: that part is black in max, gray in the reconstructions).
	Box  [4]int `json:"box"`
	Crop [4]int `json:"crop"`
	// Scale is the whole factor the crops were enlarged by (nearest
	// neighbour) so that small fields stay visible.
	Scale int `json:"scale"`
	// Files maps a rendering (max, deconv, guided) to its file name.
	Files map[string]string `json:"files"`
}

func boxArray(b model.Box) [4]int { return [4]int{b.Y0, b.X0, b.Y1, b.X1} }

// entryFile is the file name of an entry's rendering.
func entryFile(kind string, rank int) string { return fmt.Sprintf("%s_%02d.jpg", kind, rank) }

// unitDir is a unit's directory name.
func unitDir(unit int) string { return fmt.Sprintf("unit_%04d", unit) }

// layerDirs gives every layer a directory name made of letters, digits, '.',
// '-' and '_' (ONNX names like "/features/features.0/Conv_output_0" have
// slashes), unique among the layers.
func layerDirs(names []string) []string {
	out := make([]string, len(names))
	used := map[string]bool{}
	for i, n := range names {
		d := strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
				return r
			}
			return '_'
		}, n)
		d = strings.Trim(d, "_.")
		if d == "" {
			d = "layer"
		}
		base := d
		for k := 2; used[d] || d == strings.TrimSuffix(ManifestFile, ".json"); k++ {
			d = fmt.Sprintf("%s_%d", base, k)
		}
		used[d] = true
		out[i] = d
	}
	return out
}

// Index is an opened index.
type Index struct {
	// Dir is the directory read (the requested one, or its .old twin
	// when a swap was interrupted).
	Dir      string
	Manifest Manifest
}

// ErrNoIndex: the directory holds no finished index.
var ErrNoIndex = errors.New("no finished index")

// Open reads the index in dir. When a build was killed in the middle of
// replacing dir, the previous index (dir.old) is opened instead.
func Open(dir string) (*Index, error) {
	for _, d := range []string{dir, dir + oldExt} {
		m, err := readManifest(d)
		if err == nil {
			return &Index{Dir: d, Manifest: m}, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if _, err := os.Stat(dir + partialExt); err == nil {
		return nil, fmt.Errorf("index %s: %w (a build was stopped: run it again to finish)", dir, ErrNoIndex)
	}
	return nil, fmt.Errorf("index %s: %w", dir, ErrNoIndex)
}

func readManifest(dir string) (Manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return Manifest{}, err
	}
	return parseManifest(data, dir)
}

// maxTop bounds a manifest's top-k (each unit's list is allocated for it).
const maxTop = 1 << 16

// parseManifest decodes and checks the manifest of the index in dir. The
// names it takes file paths from (layer directories, renderings) must be
// plain names, so that a hostile manifest cannot point outside the index.
func parseManifest(data []byte, dir string) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("index %s: %s is corrupt: %v", dir, ManifestFile, err)
	}
	if m.Version != FormatVersion {
		return m, fmt.Errorf("index %s: format version %d, this deepscope reads %d", dir, m.Version, FormatVersion)
	}
	bad := func(format string, args ...any) (Manifest, error) {
		return m, fmt.Errorf("index %s: %s is corrupt: %s", dir, ManifestFile, fmt.Sprintf(format, args...))
	}
	if m.Top < 1 || m.Top > maxTop {
		return bad("top %d is not in 1..%d", m.Top, maxTop)
	}
	dirs := map[string]bool{}
	for i, l := range m.Layers {
		switch {
		case !plainName(l.Dir):
			return bad("layer %d (%q) has directory %q; want a plain name inside the index", i, l.Name, l.Dir)
		case dirs[l.Dir]:
			return bad("layers share the directory %q", l.Dir)
		case l.Units < 0:
			return bad("layer %q has %d units", l.Name, l.Units)
		}
		dirs[l.Dir] = true
	}
	for _, r := range m.Renderings {
		if r != RenderMax && r != RenderDeconv && r != RenderGuided {
			return bad("unknown rendering %q (want %s, %s or %s)", r, RenderMax, RenderDeconv, RenderGuided)
		}
	}
	for _, s := range m.Shards {
		if s.N < 1 || s.I < 0 || s.I >= s.N {
			return bad("shard %s is not i/n with 0 <= i < n", s)
		}
	}
	return m, nil
}

// plainName reports whether name is one path element: not empty, not . or
// .., no separator.
func plainName(name string) bool {
	return filepath.IsLocal(name) && !strings.ContainsAny(name, `/\`) && name != "."
}

// Layer returns the indexed layer with the given name.
func (ix *Index) Layer(name string) (LayerInfo, error) {
	for _, l := range ix.Manifest.Layers {
		if l.Name == name || l.Dir == name {
			return l, nil
		}
	}
	names := make([]string, len(ix.Manifest.Layers))
	for i, l := range ix.Manifest.Layers {
		names[i] = l.Name
	}
	return LayerInfo{}, fmt.Errorf("index %s has no layer %q (it has %s)", ix.Dir, name, strings.Join(names, ", "))
}

// Unit reads a unit's info.json.
func (ix *Index) Unit(layer string, unit int) (*UnitInfo, error) {
	l, err := ix.Layer(layer)
	if err != nil {
		return nil, err
	}
	if unit < 0 || unit >= l.Units {
		return nil, fmt.Errorf("layer %s has units 0..%d, not %d", l.Name, l.Units-1, unit)
	}
	var u UnitInfo
	data, err := os.ReadFile(filepath.Join(ix.Dir, l.Dir, unitDir(unit), UnitInfoFile))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &u); err != nil {
		return nil, fmt.Errorf("%s unit %d: corrupt %s: %v", l.Name, unit, UnitInfoFile, err)
	}
	for _, e := range u.Entries {
		for kind, f := range e.Files {
			if !plainName(f) {
				return nil, fmt.Errorf("%s unit %d: corrupt %s: %s file %q is not a plain name inside the unit's directory", l.Name, unit, UnitInfoFile, kind, f)
			}
		}
	}
	return &u, nil
}

// Path returns the path of a file of a unit (e.g. "max_03.jpg").
func (ix *Index) Path(layer string, unit int, file string) (string, error) {
	l, err := ix.Layer(layer)
	if err != nil {
		return "", err
	}
	return filepath.Join(ix.Dir, l.Dir, unitDir(unit), file), nil
}

// Images returns a unit's pictures of one rendering (max, deconv or
// guided), best entry first.
func (ix *Index) Images(layer string, unit int, kind string) ([]image.Image, *UnitInfo, error) {
	u, err := ix.Unit(layer, unit)
	if err != nil {
		return nil, nil, err
	}
	var out []image.Image
	for _, e := range u.Entries {
		name, ok := e.Files[kind]
		if !ok {
			return nil, nil, fmt.Errorf("index %s has no %s renderings", ix.Dir, kind)
		}
		p, _ := ix.Path(layer, unit, name)
		img, err := model.DecodeImage(p)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, img)
	}
	return out, u, nil
}

// Sheet draws a unit's top-k as a contact sheet: one row per rendering
// kind given (max, deconv, guided), entries left to right, each labelled
// with its value.
func (ix *Index) Sheet(layer string, unit int, kinds ...string) (*image.RGBA, error) {
	if len(kinds) == 0 {
		kinds = ix.Manifest.Renderings
	}
	var tiles []vis.Tile
	cols := 0
	for _, k := range kinds {
		imgs, u, err := ix.Images(layer, unit, k)
		if err != nil {
			return nil, err
		}
		cols = max(cols, len(imgs))
		for i, img := range imgs {
			tiles = append(tiles, vis.Tile{Label: fmt.Sprintf("%s %.3g", k, u.Entries[i].Value), Image: img})
		}
	}
	if len(tiles) == 0 {
		return nil, fmt.Errorf("%s unit %d has no entries", layer, unit)
	}
	return vis.Sheet(tiles, cols), nil
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory and a rename, so that path holds the old content or the new,
// never a part.
func writeFileAtomic(path string, data []byte, sync bool) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = f.Chmod(0o644)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func writeJSONAtomic(path string, v any, sync bool) error {
	data, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(data, '\n'), sync)
}

// publish replaces dir by the finished index in partial: dir moves to
// dir.old, partial to dir, then dir.old is removed. A kill between the two
// renames leaves dir.old, which Open reads, and a complete partial, which
// the next run publishes.
func publish(partial, dir string) error {
	if _, err := readManifest(partial); err != nil {
		return fmt.Errorf("publish %s: %w", partial, err)
	}
	old := dir + oldExt
	if _, err := os.Stat(dir); err == nil {
		// Never move away something that is not an index.
		if _, err := os.Stat(filepath.Join(dir, ManifestFile)); err != nil {
			if entries, _ := os.ReadDir(dir); len(entries) > 0 {
				return fmt.Errorf("%s exists and is not an index: not replacing it", dir)
			}
		}
		if err := os.RemoveAll(old); err != nil {
			return err
		}
		if err := os.Rename(dir, old); err != nil {
			return err
		}
	}
	if err := os.Rename(partial, dir); err != nil {
		return err
	}
	return os.RemoveAll(old)
}

// recoverSwap finishes a publish that was interrupted between its renames:
// dir is missing, dir.old holds the previous index and partial a finished
// one.
func recoverSwap(partial, dir string) error {
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if _, err := os.Stat(dir + oldExt); err != nil {
		return nil
	}
	if _, err := readManifest(partial); err == nil {
		return publish(partial, dir)
	}
	// Only the old index is left: put it back.
	return os.Rename(dir+oldExt, dir)
}

// Merge merges the indexes in srcs (shards of one source and model, or
// merges of them) into out: for every unit the top-k of all their entries,
// exactly as if the images had been indexed together (Compare breaks ties
// the same way everywhere). The entries' files are copied. out is replaced
// atomically like a build's.
func Merge(ctx context.Context, out string, srcs ...string) (*Manifest, error) {
	if len(srcs) == 0 {
		return nil, fmt.Errorf("merge: no indexes given")
	}
	var ixs []*Index
	for _, s := range srcs {
		ix, err := Open(s)
		if err != nil {
			return nil, err
		}
		ixs = append(ixs, ix)
	}
	m := ixs[0].Manifest
	m.Shards, m.Skipped, m.Images, m.Times = nil, nil, 0, Times{}
	seen := map[Shard]string{}
	for i, ix := range ixs {
		o := ix.Manifest
		if err := compatible(m, o); err != nil {
			return nil, fmt.Errorf("merge: %s and %s: %w", srcs[0], srcs[i], err)
		}
		for _, s := range o.Shards {
			if prev, dup := seen[s]; dup && s.N > 1 {
				return nil, fmt.Errorf("merge: shard %s is in both %s and %s", s, prev, srcs[i])
			}
			seen[s] = srcs[i]
			m.Shards = append(m.Shards, s)
		}
		m.Images += o.Images
		m.Skipped = append(m.Skipped, o.Skipped...)
		m.Renderings = intersect(m.Renderings, o.Renderings)
	}
	slices.SortFunc(m.Shards, func(a, b Shard) int { return a.N*1000000 + a.I - (b.N*1000000 + b.I) })
	m.Created = time.Now().UTC().Format(time.RFC3339)

	partial := out + partialExt
	if err := os.RemoveAll(partial); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(partial, 0o755); err != nil {
		return nil, err
	}
	for _, l := range m.Layers {
		for unit := range l.Units {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if err := mergeUnit(ixs, l, unit, m, partial); err != nil {
				return nil, err
			}
		}
	}
	if err := writeJSONAtomic(filepath.Join(partial, ManifestFile), m, true); err != nil {
		return nil, err
	}
	if err := publish(partial, out); err != nil {
		return nil, err
	}
	return &m, nil
}

func mergeUnit(ixs []*Index, l LayerInfo, unit int, m Manifest, partial string) error {
	type from struct {
		ix *Index
		e  EntryInfo
	}
	var all []from
	var lists [][]Entry
	for _, ix := range ixs {
		u, err := ix.Unit(l.Name, unit)
		if err != nil {
			return err
		}
		var list []Entry
		for _, e := range u.Entries {
			all = append(all, from{ix, e})
			list = append(list, e.Entry)
		}
		lists = append(lists, list)
	}
	best := MergeEntries(m.Top, lists...)
	dir := filepath.Join(partial, l.Dir, unitDir(unit))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	info := UnitInfo{Layer: l.Name, Unit: unit}
	for rank, e := range best {
		i := slices.IndexFunc(all, func(f from) bool { return f.e.Entry == e })
		src := all[i]
		ne := src.e
		ne.Rank = rank
		ne.Files = map[string]string{}
		for _, kind := range m.Renderings {
			name := entryFile(kind, rank)
			sp, _ := src.ix.Path(l.Name, unit, src.e.Files[kind])
			if err := copyFile(sp, filepath.Join(dir, name)); err != nil {
				return err
			}
			ne.Files[kind] = name
		}
		info.Entries = append(info.Entries, ne)
	}
	return writeJSONAtomic(filepath.Join(dir, UnitInfoFile), info, false)
}

// compatible checks that two manifests index the same model, layers, top-k
// and source, so that their entries can be merged.
func compatible(a, b Manifest) error {
	switch {
	case a.ModelSHA256 != b.ModelSHA256:
		return fmt.Errorf("different models (%s, %s)", a.Model, b.Model)
	case a.Top != b.Top:
		return fmt.Errorf("different --top (%d, %d)", a.Top, b.Top)
	case a.Source.Kind != b.Source.Kind || a.Source.Every != b.Source.Every:
		return fmt.Errorf("different sources (%s %s, %s %s)", a.Source.Kind, a.Source.Path, b.Source.Kind, b.Source.Path)
	case len(a.Layers) != len(b.Layers):
		return fmt.Errorf("different layers")
	}
	for i := range a.Layers {
		if a.Layers[i].Name != b.Layers[i].Name || a.Layers[i].Units != b.Layers[i].Units {
			return fmt.Errorf("different layers (%s, %s)", a.Layers[i].Name, b.Layers[i].Name)
		}
	}
	return nil
}

func intersect(a, b []string) []string {
	var out []string
	for _, s := range a {
		if slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
