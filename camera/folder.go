package camera

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/deepscope/deepscope/model"
)

// imageExts are the file extensions a folder source reads (the formats
// model.DecodeImage knows); other files are ignored.
var imageExts = []string{".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff"}

// Folder shows the images of a directory in natural order (img2 before
// img10). In manual mode it holds each image until Goto; otherwise it
// advances on every frame, looping. An unreadable file is reported once (an
// error wrapping ErrSkipped) and skipped from then on.
type Folder struct {
	info  Info
	files []string
	opt   Options
	pace  *pacer
	stepper
	// Guarded by stepper.mu:
	bad   []bool // files that could not be read
	dir   int    // +1 or -1: where to look past an unreadable file
	shown int    // index of the last image delivered
}

// OpenFolder lists the images of dir. A directory without any is an error.
func OpenFolder(dir string, opt Options) (*Folder, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("folder %s does not exist", dir)
		}
		return nil, fmt.Errorf("folder %s: %w", dir, err)
	}
	var files []string
	for _, e := range entries {
		if e.Type().IsRegular() && slices.Contains(imageExts, strings.ToLower(filepath.Ext(e.Name()))) {
			files = append(files, e.Name())
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("folder %s has no images (%s)", dir, strings.Join(imageExts, " "))
	}
	slices.SortFunc(files, naturalCompare)
	for i, f := range files {
		files[i] = filepath.Join(dir, f)
	}
	f := &Folder{
		info:    Info{Name: filepath.Base(filepath.Clean(dir)) + "/", Kind: KindFolder, Frames: len(files), Paced: opt.Realtime && !opt.Manual},
		files:   files,
		opt:     opt,
		stepper: newStepper(len(files)),
		bad:     make([]bool, len(files)),
		dir:     1,
	}
	if f.info.Paced {
		f.info.FPS = opt.fps(1)
		f.pace = newPacer(f.info.FPS)
	}
	return f, nil
}

// Info describes the folder.
func (f *Folder) Info() Info { return f.info }

// Files returns the image files, in the order they are shown.
func (f *Folder) Files() []string { return slices.Clone(f.files) }

// Goto makes image pos (wrapped around) the next one. An unreadable image
// there is skipped in the direction of travel: back when pos is before the
// last image shown.
func (f *Folder) Goto(pos int) {
	f.jump(pos, func() {
		f.dir = 1
		if pos < f.shown {
			f.dir = -1
		}
	})
}

// Next returns the next image: in manual mode the current one once, then
// it waits for a Goto.
func (f *Folder) Next(ctx context.Context) (Frame, error) {
	if err := f.ready(ctx, "folder "+f.info.Name); err != nil {
		return Frame{}, err
	}
	if err := f.pace.wait(ctx); err != nil {
		return Frame{}, err
	}
	f.mu.Lock()
	i, ok := f.pick()
	f.mu.Unlock()
	if !ok {
		return Frame{}, fmt.Errorf("folder %s: none of its %d images can be read", f.info.Name, len(f.files))
	}
	img, err := model.DecodeImage(f.files[i])
	var rgba *image.RGBA
	if err == nil {
		rgba = toRGBA(img)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.next == i { // no Goto meanwhile
		f.next = f.wrap(i + f.dir)
		f.held = f.opt.Manual && err == nil
	}
	if err != nil {
		f.bad[i] = true
		return Frame{}, fmt.Errorf("folder %s: %w (%w)", f.info.Name, err, ErrSkipped)
	}
	f.shown = i
	return Frame{Image: rgba, Pos: i, Name: f.files[i]}, nil
}

// pick returns the first readable file from next on, in the direction of
// travel, and makes it next.
func (f *Folder) pick() (int, bool) {
	for range f.files {
		if !f.bad[f.next] {
			return f.next, true
		}
		f.next = f.wrap(f.next + f.dir)
	}
	return 0, false
}

// Close ends the source.
func (f *Folder) Close() error {
	f.close()
	return nil
}

// naturalCompare orders names with their digit runs compared as numbers:
// "img2.png" < "img10.png". Names equal as numbers ("a01", "a1") fall back
// to byte order, so that the order is total.
func naturalCompare(a, b string) int {
	if c := naturalCompare1(a, b); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func naturalCompare1(a, b string) int {
	for a != "" && b != "" {
		da, db := digitPrefix(a), digitPrefix(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if c := len(na) - len(nb); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func digitPrefix(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}
