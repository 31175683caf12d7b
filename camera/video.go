package camera

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"

	"gocv.io/x/gocv"
)

// Video plays a video file through OpenCV and FFmpeg (any container and
// codec Debian's FFmpeg reads), looping at the end. In real time it plays
// at the file's own frame rate; otherwise as fast as it is read.
type Video struct {
	path   string
	c      *capture
	info   Info
	pace   *pacer
	first  *Frame       // the frame read by OpenVideo, not yet returned
	pos    int          // index of the frame the next read returns
	seekTo atomic.Int64 // 1 + the frame to seek to before the next read, 0 for none (Goto)
}

// defaultFPS paces videos that do not state their frame rate.
const defaultFPS = 25

// OpenVideo opens a video file and reads its first frame, so that a file
// that is not a video, or has no frames, fails here with a clear error.
// Of the options only Realtime applies.
func OpenVideo(path string, opt Options) (*Video, error) {
	realtime := opt.Realtime
	configureOpenCV()
	name := filepath.Base(path)
	if st, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("video %s does not exist", path)
		}
		return nil, fmt.Errorf("video %s: %w", path, err)
	} else if st.IsDir() {
		return nil, fmt.Errorf("video %s is a directory", path)
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("video %s is not a regular file", path)
	}
	v := &Video{path: path}
	if err := v.open(); err != nil {
		return nil, err
	}
	fps := v.c.vc.Get(gocv.VideoCaptureFPS)
	if !(fps > 0 && fps < 1000) {
		fps = defaultFPS
	}
	frames := int(v.c.vc.Get(gocv.VideoCaptureFrameCount))
	v.info = Info{Name: name, Kind: KindVideo, FPS: fps, Size: v.c.size(), Frames: max(frames, 0), Paced: realtime}
	if realtime {
		v.pace = newPacer(fps)
	}
	img, ok, err := v.c.read()
	if err != nil || !ok {
		v.c.close()
		if err == nil {
			err = errors.New("no frame could be decoded")
		}
		return nil, fmt.Errorf("video %s: %w", path, err)
	}
	v.first = &Frame{Image: img, Pos: 0, Name: path}
	v.info.Size = img.Rect.Size()
	v.pos = 1
	return v, nil
}

// open (re)opens the file.
func (v *Video) open() error {
	if v.c != nil {
		v.c.close()
		v.c = nil
	}
	vc, err := gocv.VideoCaptureFileWithAPI(v.path, gocv.VideoCaptureFFmpeg)
	if err == nil && !vc.IsOpened() {
		err = errors.New("not opened")
	}
	if err != nil {
		if vc != nil {
			vc.Close()
		}
		return fmt.Errorf("video %s: OpenCV cannot read it (not a video, or a format FFmpeg does not know)", v.path)
	}
	v.c = newCapture(vc)
	v.pos = 0
	return nil
}

// Info describes the video.
func (v *Video) Info() Info { return v.info }

// Goto makes frame pos (wrapped around the ends) the next one.
func (v *Video) Goto(pos int) {
	if n := v.info.Frames; n > 0 {
		pos = ((pos % n) + n) % n
	}
	v.seekTo.Store(int64(max(pos, 0)) + 1)
}

// seek moves to frame i (wrapped into the video's length when it is known).
func (v *Video) seek(i int) {
	if n := v.info.Frames; n > 0 {
		i = ((i % n) + n) % n
	}
	v.first = nil
	v.c.vc.Set(gocv.VideoCapturePosFrames, float64(max(i, 0)))
	v.pos = max(i, 0)
}

// Next returns the next frame, starting over at the end. A file that
// breaks mid-stream (a truncated download, a damaged frame) gives an error
// for that frame; the following call starts over from the beginning.
func (v *Video) Next(ctx context.Context) (Frame, error) {
	if err := ctx.Err(); err != nil {
		return Frame{}, err
	}
	if v.c == nil {
		return Frame{}, fmt.Errorf("video %s: %w", v.info.Name, ErrClosed)
	}
	if to := v.seekTo.Swap(0); to > 0 {
		v.seek(int(to - 1))
	}
	if err := v.pace.wait(ctx); err != nil {
		return Frame{}, err
	}
	if f := v.first; f != nil {
		v.first = nil
		return *f, nil
	}
	img, ok, err := v.c.read()
	if err != nil {
		v.pos++
		return Frame{}, fmt.Errorf("video %s: frame %d: %w", v.info.Name, v.pos-1, err)
	}
	if !ok {
		at := v.pos
		if err := v.rewind(); err != nil {
			return Frame{}, err
		}
		// A file's frame count is a little off at times; stopping well
		// before it means the file is damaged.
		if n := v.info.Frames; n > 0 && at+2 < n {
			return Frame{}, fmt.Errorf("video %s: stopped at frame %d of %d (damaged file?); starting over", v.info.Name, at, n)
		}
		if img, ok, err = v.c.read(); err != nil || !ok {
			if err == nil {
				err = errors.New("no frame after starting over")
			}
			return Frame{}, fmt.Errorf("video %s: %w", v.info.Name, err)
		}
	}
	f := Frame{Image: img, Pos: v.pos, Name: v.path}
	v.pos++
	return f, nil
}

// rewind goes back to the first frame, reopening the file when seeking
// does not work (a damaged file can leave the decoder stuck).
func (v *Video) rewind() error {
	v.seek(0)
	if v.c.vc.Get(gocv.VideoCapturePosFrames) == 0 {
		return nil
	}
	return v.open()
}

// Close releases the file.
func (v *Video) Close() error {
	if v.c != nil {
		v.c.close()
		v.c = nil
	}
	return nil
}
