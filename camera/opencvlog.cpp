// The one OpenCV setting gocv does not expose: the log level, which OpenCV
// reads from OPENCV_LOG_LEVEL when the library loads, before Go code can
// set the variable.
#include <opencv2/core/utils/logger.hpp>

extern "C" void deepscope_opencv_log_errors_only(void) {
	cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);
}
