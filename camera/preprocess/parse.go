package preprocess

import (
	"fmt"
	"image"
	"strconv"
	"strings"
)

// ParseROI parses "x,y,w,h" (pixels, w and h ≥ 1) into a rectangle; ""
// gives the empty rectangle (search the whole frame).
func ParseROI(s string) (image.Rectangle, error) {
	if s == "" {
		return image.Rectangle{}, nil
	}
	f := strings.Split(s, ",")
	if len(f) != 4 {
		return image.Rectangle{}, fmt.Errorf("roi %q: want x,y,w,h", s)
	}
	var v [4]int
	for i, p := range f {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return image.Rectangle{}, fmt.Errorf("roi %q: %w", s, err)
		}
		v[i] = n
	}
	if v[0] < 0 || v[1] < 0 || v[2] < 1 || v[3] < 1 || v[0] > 1<<20 || v[1] > 1<<20 || v[2] > 1<<20 || v[3] > 1<<20 {
		return image.Rectangle{}, fmt.Errorf("roi %q: x and y must be ≥ 0 and w, h ≥ 1", s)
	}
	return image.Rect(v[0], v[1], v[0]+v[2], v[1]+v[3]), nil
}

// ParsePolarity parses "auto", "dark" (dark ink on light paper) or "light".
func ParsePolarity(s string) (Polarity, error) {
	switch s {
	case "", "auto":
		return PolarityAuto, nil
	case "dark":
		return PolarityDark, nil
	case "light":
		return PolarityLight, nil
	}
	return 0, fmt.Errorf("polarity %q: want auto, dark or light", s)
}

// ParseThreshold parses "otsu" or "adaptive".
func ParseThreshold(s string) (ThresholdMethod, error) {
	switch s {
	case "", "otsu":
		return Otsu, nil
	case "adaptive":
		return Adaptive, nil
	}
	return 0, fmt.Errorf("threshold %q: want otsu or adaptive", s)
}
