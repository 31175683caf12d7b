package camera

/*
#cgo !windows pkg-config: opencv4
#cgo CXXFLAGS: --std=c++11
void deepscope_opencv_log_errors_only(void);
*/
import "C"

import (
	"fmt"
	"image"
	"os"
	"sync"

	"gocv.io/x/gocv"
)

// capture reads the frames of an OpenCV VideoCapture (a webcam or a video
// file) as RGBA images. It is used from one goroutine at a time.
type capture struct {
	vc   *gocv.VideoCapture
	bgr  gocv.Mat // the decoded frame, as OpenCV delivers it
	rgba gocv.Mat // the frame converted to RGBA
}

var configureOnce sync.Once

// configureOpenCV, called before a capture is opened, keeps OpenCV and
// FFmpeg from printing warnings on stderr (a missing camera, a damaged
// frame): the errors come back as Go errors instead. It also makes a
// camera that stops delivering frames answer within 3 s instead of 10.
// Settings the user made in the environment (OPENCV_LOG_LEVEL,
// OPENCV_FFMPEG_LOGLEVEL, OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT) are kept.
func configureOpenCV() {
	configureOnce.Do(func() {
		if _, ok := os.LookupEnv("OPENCV_LOG_LEVEL"); !ok {
			// OpenCV read the variable when it loaded: set the level.
			C.deepscope_opencv_log_errors_only()
		}
		for k, v := range map[string]string{
			"OPENCV_FFMPEG_LOGLEVEL":            "-8", // AV_LOG_QUIET
			"OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT": "3",
		} {
			if _, ok := os.LookupEnv(k); !ok {
				os.Setenv(k, v)
			}
		}
	})
}

func newCapture(vc *gocv.VideoCapture) *capture {
	return &capture{vc: vc, bgr: gocv.NewMat(), rgba: gocv.NewMat()}
}

// size returns the frame size the capture reports.
func (c *capture) size() image.Point {
	return image.Pt(int(c.vc.Get(gocv.VideoCaptureFrameWidth)), int(c.vc.Get(gocv.VideoCaptureFrameHeight)))
}

// read decodes the next frame into a new image. ok is false when there is
// no frame (the end of a file, a camera that stopped answering).
func (c *capture) read() (img *image.RGBA, ok bool, err error) {
	if !c.vc.Read(&c.bgr) || c.bgr.Empty() {
		return nil, false, nil
	}
	alpha := false // OpenCV sets alpha 255 when it adds the channel
	switch t := c.bgr.Type(); t {
	case gocv.MatTypeCV8UC3:
		gocv.CvtColor(c.bgr, &c.rgba, gocv.ColorBGRToRGBA)
	case gocv.MatTypeCV8UC4:
		gocv.CvtColor(c.bgr, &c.rgba, gocv.ColorBGRAToRGBA)
		alpha = true
	case gocv.MatTypeCV8UC1:
		gocv.CvtColor(c.bgr, &c.rgba, gocv.ColorGrayToBGRA) // the same as gray to RGBA
	default:
		return nil, true, fmt.Errorf("unsupported pixel format (OpenCV type %v)", t)
	}
	w, h := c.rgba.Cols(), c.rgba.Rows()
	data, err := c.rgba.DataPtrUint8()
	if err != nil {
		return nil, true, err
	}
	if len(data) < 4*w*h {
		return nil, true, fmt.Errorf("short frame: %d bytes for %dx%d", len(data), w, h)
	}
	img = image.NewRGBA(image.Rect(0, 0, w, h))
	copy(img.Pix, data[:4*w*h])
	for i := 3; alpha && i < len(img.Pix); i += 4 {
		img.Pix[i] = 0xff
	}
	return img, true, nil
}

func (c *capture) close() {
	c.bgr.Close()
	c.rgba.Close()
	c.vc.Close()
}
