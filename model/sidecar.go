package model

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
)

// Colour orders a network can expect for its input channels.
const (
	RGB  = "RGB"
	BGR  = "BGR"
	Gray = "GRAY" // one channel: luma 0.299 R + 0.587 G + 0.114 B
)

// Resize modes: how an image of any size becomes the network's
// Width x Height input.
const (
	// ResizeStretch scales the whole image to Width x Height, ignoring its
	// aspect ratio.
	ResizeStretch = "stretch"
	// ResizeCenterCrop scales the image, keeping its aspect ratio, to the
	// smallest size that covers Width x Height and crops the centre.
	ResizeCenterCrop = "center-crop"
	// ResizeShortSideCrop scales the short side to max(Width, Height) x
	// 256/224 (256 for 224x224 networks, the usual ImageNet evaluation
	// recipe) and crops the centre. "short-side-N-center-crop" names the
	// short side N explicitly.
	ResizeShortSideCrop = "short-side-center-crop"
)

// MaxInputSide bounds a sidecar's input width and height.
const MaxInputSide = 4096

// Sidecar describes how to feed images to a model and how to name its
// classes. It mirrors the JSON file <model>.json kept next to <model>.onnx:
//
//	{"name": "...",
//	 "input": {"width": 224, "height": 224, "color": "RGB", "scale": 255,
//	           "mean": [0,0,0], "std": [1,1,1], "resize": "short-side-256-center-crop"},
//	 "labels": "imagenet_labels.txt"}
//
// "labels" is either a file name relative to the sidecar's directory or an
// inline array of class names. The network input is
// (pixel/Scale - Mean[c]) / Std[c] for channel c in Color order, pixel in
// 0..255. Absent fields keep DefaultSidecar's values; unknown fields are
// errors (a typo must not silently fall back to a default). Fields are
// exported so that command-line flags can override them; call Validate
// after changing them.
type Sidecar struct {
	Name  string    `json:"name"`
	Input InputSpec `json:"input"`
	// LabelsFile is the labels file; relative paths are resolved against
	// Dir. Empty when there is none.
	LabelsFile string `json:"-"`
	// LabelNames are the class names, read from LabelsFile or given inline.
	LabelNames []string `json:"-"`
	// Dir is the directory of the model (and of its sidecar).
	Dir string `json:"-"`
	// Path is the sidecar file the settings came from; "" when they are the
	// defaults.
	Path string `json:"-"`
}

// InputSpec is the "input" object of a sidecar.
type InputSpec struct {
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Color  string `json:"color"` // RGB, BGR or GRAY
	// Scale divides 0..255 pixel values before Mean and Std apply.
	Scale float64 `json:"scale"`
	// Mean and Std hold one value for all channels or one per channel.
	Mean   []float64 `json:"mean"`
	Std    []float64 `json:"std"`
	Resize string    `json:"resize"`
}

// DefaultSidecar returns the settings used for a model without sidecar:
// 224x224 RGB, input = pixel/255, short side scaled to 256 then centre
// crop, no labels.
func DefaultSidecar() *Sidecar {
	return &Sidecar{
		Input: InputSpec{
			Width: 224, Height: 224, Color: RGB, Scale: 255,
			Mean: []float64{0}, Std: []float64{1}, Resize: ResizeShortSideCrop,
		},
	}
}

// SidecarPath returns the sidecar file name of a model: model.onnx ->
// model.json.
func SidecarPath(modelPath string) string {
	return strings.TrimSuffix(modelPath, filepath.Ext(modelPath)) + ".json"
}

// LoadSidecar reads the sidecar of the model at modelPath. When there is
// none it returns DefaultSidecar (with Dir set) and no error. A malformed
// sidecar, or a labels file that cannot be read, is an error naming the
// file and the field.
func LoadSidecar(modelPath string) (*Sidecar, error) {
	path := SidecarPath(modelPath)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		s := DefaultSidecar()
		s.Name = strings.TrimSuffix(filepath.Base(modelPath), filepath.Ext(modelPath))
		s.Dir = filepath.Dir(modelPath)
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sidecar: %w", err)
	}
	s, err := ParseSidecar(data, path)
	if err != nil {
		return nil, err
	}
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(modelPath), filepath.Ext(modelPath))
	}
	return s, nil
}

// ParseSidecar parses sidecar JSON read from path (used to name the file in
// errors and to resolve the labels file), fills absent fields with the
// defaults, validates it and reads its labels file.
func ParseSidecar(data []byte, path string) (*Sidecar, error) {
	var raw struct {
		Name   *string         `json:"name"`
		Input  json.RawMessage `json:"input"`
		Labels json.RawMessage `json:"labels"`
	}
	if err := strictUnmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("sidecar %s: %s", path, jsonError(data, err))
	}
	s := DefaultSidecar()
	s.Path = path
	s.Dir = filepath.Dir(path)
	if raw.Name != nil {
		s.Name = *raw.Name
	}
	if len(raw.Input) > 0 && string(raw.Input) != "null" {
		var in struct {
			Width  *int       `json:"width"`
			Height *int       `json:"height"`
			Color  *string    `json:"color"`
			Scale  *float64   `json:"scale"`
			Mean   *[]float64 `json:"mean"`
			Std    *[]float64 `json:"std"`
			Resize *string    `json:"resize"`
		}
		if err := strictUnmarshal(raw.Input, &in); err != nil {
			return nil, fmt.Errorf("sidecar %s: input: %s", path, jsonError(raw.Input, err))
		}
		if in.Width != nil {
			s.Input.Width = *in.Width
		}
		if in.Height != nil {
			s.Input.Height = *in.Height
		}
		if in.Color != nil {
			s.Input.Color = *in.Color
		}
		if in.Scale != nil {
			s.Input.Scale = *in.Scale
		}
		if in.Mean != nil {
			s.Input.Mean = *in.Mean
		}
		if in.Std != nil {
			s.Input.Std = *in.Std
		}
		if in.Resize != nil {
			s.Input.Resize = *in.Resize
		}
	}
	switch {
	case len(raw.Labels) == 0 || string(raw.Labels) == "null":
	case raw.Labels[0] == '"':
		if err := json.Unmarshal(raw.Labels, &s.LabelsFile); err != nil {
			return nil, fmt.Errorf("sidecar %s: labels: %v", path, err)
		}
		if !filepath.IsLocal(s.LabelsFile) || strings.Contains(s.LabelsFile, "\\") {
			return nil, fmt.Errorf("sidecar %s: labels: %q must be a file name inside the model's directory (no absolute path, no ..)", path, s.LabelsFile)
		}
	case raw.Labels[0] == '[':
		if err := json.Unmarshal(raw.Labels, &s.LabelNames); err != nil {
			return nil, fmt.Errorf("sidecar %s: labels: want a file name or an array of strings: %v", path, err)
		}
	default:
		return nil, fmt.Errorf("sidecar %s: labels: want a file name or an array of strings, got %s", path, raw.Labels)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if s.LabelsFile != "" {
		if err := s.LoadLabels(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// strictUnmarshal decodes JSON rejecting unknown fields, so that a typo in
// a field name is reported instead of silently using the default.
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("unexpected data after the JSON object")
	}
	return nil
}

// jsonError rewrites a decoding error with the line number and field.
func jsonError(data []byte, err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line := 1 + bytes.Count(data[:min(int(syn.Offset), len(data))], []byte("\n"))
		return fmt.Sprintf("line %d: %v", line, syn)
	case errors.As(err, &typ):
		want := typ.Type.String()
		if typ.Type.Kind() == reflect.Struct {
			want = "a JSON object"
		}
		if typ.Field == "" {
			return fmt.Sprintf("want %s, got JSON %s", want, typ.Value)
		}
		return fmt.Sprintf("%s: want %s, got JSON %s", typ.Field, want, typ.Value)
	}
	return err.Error()
}

// where names the sidecar in errors.
func (s *Sidecar) where() string {
	if s.Path == "" {
		return "input settings"
	}
	return "sidecar " + s.Path
}

// Validate checks the input settings and normalises Color and Resize to
// their canonical spelling. Errors name the sidecar file and the field.
func (s *Sidecar) Validate() error {
	in := &s.Input
	if in.Width <= 0 || in.Width > MaxInputSide {
		return fmt.Errorf("%s: input.width: must be in 1..%d, got %d", s.where(), MaxInputSide, in.Width)
	}
	if in.Height <= 0 || in.Height > MaxInputSide {
		return fmt.Errorf("%s: input.height: must be in 1..%d, got %d", s.where(), MaxInputSide, in.Height)
	}
	switch c := strings.ToUpper(strings.TrimSpace(in.Color)); c {
	case RGB, BGR, Gray:
		in.Color = c
	case "GREY", "L":
		in.Color = Gray
	default:
		return fmt.Errorf("%s: input.color: unknown colour %q (want RGB, BGR or GRAY)", s.where(), in.Color)
	}
	if !(in.Scale > 0) || in.Scale > 1e30 {
		return fmt.Errorf("%s: input.scale: must be a positive number, got %v", s.where(), in.Scale)
	}
	ch := s.Channels()
	for _, f := range []struct {
		name string
		v    []float64
	}{{"mean", in.Mean}, {"std", in.Std}} {
		if len(f.v) != 1 && len(f.v) != ch {
			return fmt.Errorf("%s: input.%s: want 1 or %d values for %s, got %d", s.where(), f.name, ch, in.Color, len(f.v))
		}
	}
	for _, f := range []struct {
		name string
		v    []float64
	}{{"mean", in.Mean}, {"std", in.Std}} {
		for i, v := range f.v {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%s: input.%s[%d]: must be a finite number, got %v", s.where(), f.name, i, v)
			}
		}
	}
	for i, v := range in.Std {
		if v == 0 {
			return fmt.Errorf("%s: input.std[%d]: must not be 0", s.where(), i)
		}
	}
	if _, err := parseResize(in.Resize); err != nil {
		return fmt.Errorf("%s: input.resize: %v", s.where(), err)
	}
	in.Resize = strings.ToLower(strings.TrimSpace(in.Resize))
	if in.Resize == "" {
		in.Resize = ResizeShortSideCrop
	}
	return nil
}

// resizeMode is a parsed Resize setting.
type resizeMode struct {
	stretch bool
	// shortSide is the short side before the centre crop: >0 explicit, 0
	// none (ResizeCenterCrop), -1 the default 256/224 margin.
	shortSide int
}

func parseResize(r string) (resizeMode, error) {
	r = strings.ToLower(strings.TrimSpace(r))
	switch r {
	case ResizeStretch:
		return resizeMode{stretch: true}, nil
	case ResizeCenterCrop:
		return resizeMode{}, nil
	case ResizeShortSideCrop, "short-side-then-center-crop", "":
		return resizeMode{shortSide: -1}, nil
	}
	if n, ok := strings.CutPrefix(r, "short-side-"); ok {
		if n, ok := strings.CutSuffix(n, "-center-crop"); ok {
			v, err := strconv.Atoi(n)
			if err != nil || v <= 0 || v > 4*MaxInputSide {
				return resizeMode{}, fmt.Errorf("bad short side %q in %q (want 1..%d)", n, r, 4*MaxInputSide)
			}
			return resizeMode{shortSide: v}, nil
		}
	}
	return resizeMode{}, fmt.Errorf("unknown resize mode %q (want %s, %s, %s or short-side-N-center-crop)",
		r, ResizeStretch, ResizeCenterCrop, ResizeShortSideCrop)
}

// Channels returns the number of input channels: 1 for GRAY, else 3.
func (s *Sidecar) Channels() int {
	if strings.EqualFold(s.Input.Color, Gray) {
		return 1
	}
	return 3
}

// mean returns the mean of tensor channel c.
func (s *Sidecar) mean(c int) float64 { return perChannel(s.Input.Mean, c, 0) }

// std returns the standard deviation of tensor channel c.
func (s *Sidecar) std(c int) float64 { return perChannel(s.Input.Std, c, 1) }

func perChannel(v []float64, c int, def float64) float64 {
	switch {
	case len(v) == 0:
		return def
	case c < len(v):
		return v[c]
	}
	return v[0]
}

// FitInput adapts the settings to the model's declared input shape
// [N, C, H, W] (dimensions <= 0 are unknown). Without a sidecar file the
// known dimensions fill Width, Height and the colour (C = 1 selects GRAY, so
// MNIST-like 1x1x28x28 networks work out of the box). With a sidecar, a
// disagreement with the model is an error naming the field.
func (s *Sidecar) FitInput(shape []int) error {
	if len(shape) != 4 {
		return fmt.Errorf("%s: model input has shape %s; want N x C x H x W (an image classifier)", s.where(), ShapeString(shape))
	}
	if shape[0] > 1 {
		return fmt.Errorf("%s: model input has batch size %d; want 1", s.where(), shape[0])
	}
	c, h, w := shape[1], shape[2], shape[3]
	if c > 0 && c != 1 && c != 3 {
		return fmt.Errorf("%s: model input has %d channels; only 1 (GRAY) and 3 (RGB/BGR) are supported", s.where(), c)
	}
	if s.Path == "" {
		if c == 1 {
			s.Input.Color = Gray
		} else if c == 3 && s.Channels() == 1 {
			s.Input.Color = RGB
		}
		if h > 0 {
			s.Input.Height = h
		}
		if w > 0 {
			s.Input.Width = w
		}
		return s.Validate()
	}
	if c > 0 && c != s.Channels() {
		return fmt.Errorf("%s: input.color: %s has %d channel(s) but the model wants %d", s.where(), s.Input.Color, s.Channels(), c)
	}
	if h > 0 && h != s.Input.Height {
		return fmt.Errorf("%s: input.height: %d but the model wants %d", s.where(), s.Input.Height, h)
	}
	if w > 0 && w != s.Input.Width {
		return fmt.Errorf("%s: input.width: %d but the model wants %d", s.where(), s.Input.Width, w)
	}
	return nil
}

// LoadLabels reads LabelsFile (relative to Dir) into LabelNames.
func (s *Sidecar) LoadLabels() error {
	path := s.LabelsFile
	if !filepath.IsAbs(path) && s.Dir != "" {
		path = filepath.Join(s.Dir, path)
	}
	labels, err := ReadLabels(path)
	if err != nil {
		return fmt.Errorf("%s: labels: %w", s.where(), err)
	}
	s.LabelNames = labels
	return nil
}

// Labels returns the class names: the inline ones, else those of the
// labels file, else nil.
func (s *Sidecar) Labels() []string {
	if s.LabelNames != nil || s.LabelsFile == "" {
		return s.LabelNames
	}
	c := *s
	if c.LoadLabels() != nil {
		return nil
	}
	return c.LabelNames
}

// Label returns the name of class i, or "class i" when unknown.
func (s *Sidecar) Label(i int) string {
	if l := s.Labels(); i >= 0 && i < len(l) && l[i] != "" {
		return l[i]
	}
	return "class " + strconv.Itoa(i)
}

// ReadLabels reads a labels file: one class name per line, in class order.
// Synset lines "n01440764<TAB>tench, Tinca tinca" (or with a space, as in
// Caffe's synset_words.txt) give their first name, "tench". Trailing empty
// lines are dropped.
func ReadLabels(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var labels []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		labels = append(labels, parseLabel(sc.Text()))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	for len(labels) > 0 && labels[len(labels)-1] == "" {
		labels = labels[:len(labels)-1]
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("%s has no labels", path)
	}
	return labels, nil
}

func parseLabel(line string) string {
	line = strings.TrimSpace(line)
	if isWNID(line) {
		name := strings.TrimSpace(line[9:])
		if first, _, ok := strings.Cut(name, ","); ok {
			name = strings.TrimSpace(first)
		}
		return name
	}
	return line
}

// isWNID reports whether line starts with a WordNet id "n01440764" followed
// by a tab or space.
func isWNID(line string) bool {
	if len(line) < 10 || line[0] != 'n' || (line[9] != '\t' && line[9] != ' ') {
		return false
	}
	for _, c := range line[1:9] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
