package camera

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/deepscope/deepscope/model"
)

// Still is a single image. In manual mode Next returns it once and then
// waits (the explorer redraws it when its controls change); otherwise it
// repeats it on every call, at Options.FPS when Realtime.
type Still struct {
	frame  Frame
	info   Info
	manual bool
	pace   *pacer
	given  bool
	closed bool
}

// OpenStill decodes the image file at path (PNG, JPEG, GIF, BMP, WebP,
// TIFF).
func OpenStill(path string, opt Options) (*Still, error) {
	img, err := model.DecodeImage(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("image %s does not exist", path)
	}
	if err != nil {
		return nil, err
	}
	rgba := toRGBA(img)
	s := &Still{
		frame:  Frame{Image: rgba, Name: path},
		info:   Info{Name: filepath.Base(path), Kind: KindStill, Size: rgba.Rect.Size(), Frames: 1},
		manual: opt.Manual,
	}
	if opt.Realtime && !opt.Manual {
		s.info.Paced = true
		s.info.FPS = opt.fps(30)
		s.pace = newPacer(s.info.FPS)
	}
	return s, nil
}

// Info describes the image.
func (s *Still) Info() Info { return s.info }

// Next returns the image.
func (s *Still) Next(ctx context.Context) (Frame, error) {
	if s.closed {
		return Frame{}, fmt.Errorf("image %s: %w", s.info.Name, ErrClosed)
	}
	if s.manual && s.given {
		<-ctx.Done()
		return Frame{}, ctx.Err()
	}
	if err := s.pace.wait(ctx); err != nil {
		return Frame{}, err
	}
	s.given = true
	return s.frame, nil
}

// Close ends the source.
func (s *Still) Close() error {
	s.closed = true
	return nil
}
