package camera

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// SourceHelp describes the values Open takes.
const SourceHelp = "webcam, webcam:N, /dev/videoN, pattern, fashion-mnist (the Fashion-MNIST test images), a video file, an image file or a folder of images"

// Open opens the source named by spec, the value of a --source flag:
//
//	webcam, webcam:N   camera 0, camera N
//	/dev/videoN        a camera by device path
//	pattern            the synthetic test pattern
//	fashion-mnist      the Fashion-MNIST test set (MNIST), fashion-mnist:DIR
//	a directory        its images, in natural order (Folder)
//	an image file      that image (Still): PNG, JPEG, GIF, BMP, WebP, TIFF
//	any other file     a video (Video)
//
// A missing webcam gives an error wrapping ErrNoDevice, so that the caller
// can fall back (to the pattern, say).
func Open(spec string, opt Options) (Source, error) {
	switch s := strings.TrimSpace(spec); {
	case s == "":
		return nil, fmt.Errorf("no source given (want %s)", SourceHelp)
	case s == "pattern":
		return NewPattern(opt), nil
	case s == FashionMNISTSpec || strings.HasPrefix(s, FashionMNISTSpec+":"):
		return openFashionSpec(s, opt)
	case s == "webcam":
		return OpenWebcam("0")
	case strings.HasPrefix(s, "webcam:"):
		dev := strings.TrimPrefix(s, "webcam:")
		if dev == "" {
			return nil, fmt.Errorf("source %q: want webcam:N with a camera number", spec)
		}
		return OpenWebcam(dev)
	case strings.HasPrefix(s, "/dev/video"):
		return OpenWebcam(s)
	}
	st, err := os.Stat(spec)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("source %s does not exist (want %s)", spec, SourceHelp)
	}
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", spec, err)
	}
	switch {
	case st.IsDir():
		return OpenFolder(spec, opt)
	case !st.Mode().IsRegular():
		// A pipe would block the open, a device like /dev/zero never end.
		return nil, fmt.Errorf("source %s is not a regular file (want %s)", spec, SourceHelp)
	case slices.Contains(imageExts, strings.ToLower(filepath.Ext(spec))):
		return OpenStill(spec, opt)
	}
	return OpenVideo(spec, opt)
}
