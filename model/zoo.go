package model

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// The model catalog: ONNX Model Zoo image classifiers a user can download
// with `deepscope models get NAME`. zoo.tsv holds one tab-separated row per
// model (name, path in the zoo repository, sha256, size in bytes, colour
// order, scale, mean, std); comment lines start with '#', and a comment
// "# url = BASE<path>" gives the download address.

//go:embed zoo.tsv
var zooTSV string

// imagenetLabels are the 1000 ImageNet-1k class names in the standard
// order, written next to downloaded models (they all use that order).
//
//go:embed imagenet_labels.txt
var imagenetLabels []byte

// ImageNetLabelsFile is the labels file written next to downloaded models.
const ImageNetLabelsFile = "imagenet_labels.txt"

// ImageNetLabels returns the ImageNet-1k class names file (one per line).
func ImageNetLabels() []byte { return append([]byte(nil), imagenetLabels...) }

// DefaultZooURL is where catalog paths are downloaded from when the
// catalog gives no "# url =" line.
const DefaultZooURL = "https://github.com/onnx/models/raw/main/validated/vision/classification/"

// ZooModel is one catalog entry.
type ZooModel struct {
	Name   string
	Path   string // file path in the ONNX Model Zoo repository
	SHA256 string // lowercase hex
	Size   int64  // bytes
	// Preprocessing: input = (pixel/Scale - Mean[c]) / Std[c] in Color order.
	Color     string
	Scale     float64
	Mean, Std []float64
	// BaseURL is the address Path is relative to.
	BaseURL string
}

// URL returns the download address of the model.
func (z ZooModel) URL() string { return z.BaseURL + z.Path }

// FileName is the model's file name in the cache: NAME.onnx.
func (z ZooModel) FileName() string { return z.Name + ".onnx" }

// Sidecar returns the model's input settings: 224x224 in the catalog's
// colour order and normalisation, short side scaled to 256 then the centre
// 224x224 crop (the zoo's ImageNet evaluation recipe), ImageNet labels.
func (z ZooModel) Sidecar() *Sidecar {
	s := DefaultSidecar()
	s.Name = z.Name + " (ONNX Model Zoo, ImageNet-1k)"
	s.Input.Color = z.Color
	s.Input.Scale = z.Scale
	s.Input.Mean = append([]float64(nil), z.Mean...)
	s.Input.Std = append([]float64(nil), z.Std...)
	s.Input.Resize = "short-side-256-center-crop"
	s.LabelsFile = ImageNetLabelsFile
	return s
}

// SidecarJSON returns the sidecar file content for the model.
func (z ZooModel) SidecarJSON() []byte {
	s := z.Sidecar()
	return FormatSidecar(s.Name, s.Input, s.LabelsFile)
}

// FormatSidecar writes sidecar JSON in the layout of the shared models'
// sidecars, one line per field:
//
//	{
//	  "name": "...",
//	  "input": {"width": 224, "height": 224, "color": "RGB", ...},
//	  "labels": "imagenet_labels.txt"
//	}
//
// labels is a labels file name, omitted when empty.
func FormatSidecar(name string, in InputSpec, labels string) []byte {
	q := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err) // plain values only
		}
		return string(b)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "{\n  \"name\": %s,\n  \"input\": %s", q(name), strings.ReplaceAll(strings.ReplaceAll(q(in), ",\"", ", \""), "\":", "\": "))
	if labels != "" {
		fmt.Fprintf(&b, ",\n  \"labels\": %s", q(labels))
	}
	b.WriteString("\n}\n")
	return []byte(b.String())
}

var (
	zooOnce   sync.Once
	zooModels []ZooModel
	zooErr    error
)

// Zoo returns the catalog embedded in the program.
func Zoo() []ZooModel {
	zooOnce.Do(func() { zooModels, zooErr = ParseZoo(strings.NewReader(zooTSV)) })
	if zooErr != nil {
		panic("model: embedded zoo.tsv: " + zooErr.Error()) // caught by TestZooEmbedded
	}
	return append([]ZooModel(nil), zooModels...)
}

// ZooLookup finds a catalog entry by name (case-insensitive).
func ZooLookup(name string) (ZooModel, bool) {
	for _, z := range Zoo() {
		if strings.EqualFold(z.Name, name) {
			return z, true
		}
	}
	return ZooModel{}, false
}

var (
	zooURLLine = regexp.MustCompile(`^#\s*url\s*=\s*(\S+?)<path>\s*$`)
	zooName    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	zooSHA     = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// ParseZoo reads a catalog in the zoo.tsv format. Errors name the line and
// the column.
func ParseZoo(r io.Reader) ([]ZooModel, error) {
	base := DefaultZooURL
	var out []ZooModel
	seen := map[string]bool{}
	header := false
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		if strings.HasPrefix(text, "#") {
			if m := zooURLLine.FindStringSubmatch(text); m != nil {
				base = m[1]
			}
			continue
		}
		cols := strings.Split(text, "\t")
		if !header {
			header = true
			if cols[0] == "name" {
				continue
			}
		}
		z, err := parseZooRow(cols, base)
		if err != nil {
			return nil, fmt.Errorf("zoo catalog line %d: %w", line, err)
		}
		if seen[strings.ToLower(z.Name)] {
			return nil, fmt.Errorf("zoo catalog line %d: model %q is listed twice", line, z.Name)
		}
		seen[strings.ToLower(z.Name)] = true
		out = append(out, z)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("zoo catalog: %w", err)
	}
	return out, nil
}

func parseZooRow(cols []string, base string) (ZooModel, error) {
	const want = 8
	if len(cols) != want {
		return ZooModel{}, fmt.Errorf("want %d tab-separated columns (name path sha256 bytes color scale mean std), got %d", want, len(cols))
	}
	z := ZooModel{Name: cols[0], Path: cols[1], SHA256: strings.ToLower(cols[2]), BaseURL: base}
	if !zooName.MatchString(z.Name) {
		return z, fmt.Errorf("name %q: use letters, digits, '.', '_' and '-'", z.Name)
	}
	if u, err := url.Parse(z.URL()); err != nil || z.Path == "" || u.Host == "" || strings.Contains(z.Path, "..") {
		return z, fmt.Errorf("%s: bad path %q", z.Name, z.Path)
	}
	if !zooSHA.MatchString(z.SHA256) {
		return z, fmt.Errorf("%s: sha256 %q is not 64 hex digits", z.Name, cols[2])
	}
	size, err := strconv.ParseInt(cols[3], 10, 64)
	if err != nil || size <= 0 {
		return z, fmt.Errorf("%s: bytes %q is not a positive integer", z.Name, cols[3])
	}
	z.Size = size
	if z.Scale, err = strconv.ParseFloat(cols[5], 64); err != nil {
		return z, fmt.Errorf("%s: scale %q: %v", z.Name, cols[5], err)
	}
	if z.Mean, err = parseFloats(cols[6]); err != nil {
		return z, fmt.Errorf("%s: mean: %v", z.Name, err)
	}
	if z.Std, err = parseFloats(cols[7]); err != nil {
		return z, fmt.Errorf("%s: std: %v", z.Name, err)
	}
	z.Color = cols[4]
	// The sidecar validation checks colour, scale and the value counts.
	s := z.Sidecar()
	if err := s.Validate(); err != nil {
		return z, fmt.Errorf("%s: %v", z.Name, strings.TrimPrefix(err.Error(), "input settings: "))
	}
	z.Color = s.Input.Color
	return z, nil
}

func parseFloats(s string) ([]float64, error) {
	parts := strings.Split(s, ",")
	out := make([]float64, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a list of numbers", s)
		}
		out[i] = v
	}
	return out, nil
}
