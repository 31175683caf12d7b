package index

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/deepscope/deepscope/camera"
	"github.com/deepscope/deepscope/model"
)

// item is one image of a source: its position (file index in the folder's
// natural order, or frame number) and key (Entry.Image).
type item struct {
	pos int
	key string
}

// decoded is an item read and preprocessed, or the error that made it
// unreadable.
type decoded struct {
	it  item
	x   *model.Tensor
	err error
}

// source reads the images of a folder or the frames of a video.
type source struct {
	path  string
	kind  string // "folder" or "video"
	files []string
	every int
}

func openSource(path string, every int) (*source, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", path, err)
	}
	s := &source{path: path, every: max(every, 1)}
	if st.IsDir() {
		f, err := camera.OpenFolder(path, camera.Options{})
		if err != nil {
			return nil, err
		}
		s.kind, s.files = "folder", f.Files()
		f.Close()
		return s, nil
	}
	s.kind = "video"
	return s, nil
}

// frameKey is the key of video frame pos.
func frameKey(pos int) string { return fmt.Sprintf("frame_%06d", pos) }

// keyPos returns the position of an item key of this source.
func (s *source) keyPos(key string) (int, bool) {
	if s.kind == "video" {
		n, err := strconv.Atoi(strings.TrimPrefix(key, "frame_"))
		return n, err == nil && strings.HasPrefix(key, "frame_")
	}
	for i, f := range s.files {
		if filepath.Base(f) == key {
			return i, true
		}
	}
	return 0, false
}

// ordinal numbers the items a source delivers, for sharding: the file
// index, or the frame number divided by the frame step.
func (s *source) ordinal(pos int) int {
	if s.kind == "video" {
		return pos / s.every
	}
	return pos
}

// names lists the folder's keys (nil for a video).
func (s *source) names() []string {
	out := make([]string, len(s.files))
	for i, f := range s.files {
		out[i] = filepath.Base(f)
	}
	return out
}

// read sends, in order, the items from position from on for which want is
// true, decoded and preprocessed by prep, on the returned channel, which is
// closed at the end or when ctx is done. A video's frames are those up to
// its first loop, taking every s.every-th. The read runs on its own
// goroutine, ahead of the consumer by a couple of items.
func (s *source) read(ctx context.Context, from int, want func(pos int) bool, prep func(image.Image) *model.Tensor) <-chan decoded {
	ch := make(chan decoded, 2)
	send := func(d decoded) bool {
		select {
		case ch <- d:
			return true
		case <-ctx.Done():
			return false
		}
	}
	go func() {
		defer close(ch)
		if s.kind == "folder" {
			for i := from; i < len(s.files); i++ {
				if ctx.Err() != nil {
					return
				}
				if !want(i) {
					continue
				}
				it := item{i, filepath.Base(s.files[i])}
				img, err := model.DecodeImage(s.files[i])
				d := decoded{it: it, err: err}
				if err == nil {
					d.x = prep(img)
				}
				if !send(d) {
					return
				}
			}
			return
		}
		v, err := camera.OpenVideo(s.path, camera.Options{})
		if err != nil {
			send(decoded{it: item{-1, ""}, err: err})
			return
		}
		defer v.Close()
		last, errs := -1, 0
		for ctx.Err() == nil {
			f, err := v.Next(ctx)
			if err != nil {
				if errors.Is(err, ctx.Err()) {
					return
				}
				// A damaged frame: the video goes on, or starts over.
				if errs++; errs > 10 {
					return
				}
				continue
			}
			if f.Pos <= last { // looped: the end
				return
			}
			last = f.Pos
			if f.Pos < from || f.Pos%s.every != 0 || !want(f.Pos) {
				continue
			}
			if !send(decoded{it: item{f.Pos, frameKey(f.Pos)}, x: prep(f.Image)}) {
				return
			}
		}
	}()
	return ch
}
