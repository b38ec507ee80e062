package model

import (
	"fmt"
	"math"
	"strconv"
)

// NormFromMetadata reads the input normalization a model file records
// (MetaNormMean, MetaNormStd). A file that records neither gets the MNIST
// constants; a malformed or non-positive std is an error.
func NormFromMetadata(md map[string]string) (Normalization, error) {
	n := MNISTNorm
	ms, ss := md[MetaNormMean], md[MetaNormStd]
	if ms == "" && ss == "" {
		return n, nil
	}
	m, err1 := strconv.ParseFloat(ms, 32)
	s, err2 := strconv.ParseFloat(ss, 32)
	if err1 != nil || err2 != nil || !(s > 0) || math.IsInf(s, 0) || math.IsNaN(m) || math.IsInf(m, 0) {
		return n, fmt.Errorf("model metadata: bad normalization: mean %q std %q", ms, ss)
	}
	return Normalization{Mean: float32(m), Std: float32(s)}, nil
}
