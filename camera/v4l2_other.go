//go:build !linux

package camera

import "fmt"

// OpenV4L2 is only available on Linux.
func OpenV4L2(opt Options) (Source, error) {
	return nil, fmt.Errorf("camera: v4l2: %w: V4L2 exists only on Linux", ErrNoCamera)
}
