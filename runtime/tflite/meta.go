//go:build tflite

package tflite

import (
	tflitefmt "github.com/edgecnn/edgecnn/model/tflite"
)

// readMetadata returns the edgecnn metadata stored in the model file (the
// TFLite C API does not expose metadata). Files edgecnn's reader does not
// understand still run, with empty metadata: TFLite itself judges them.
func readMetadata(path string) (map[string]string, error) {
	g, err := tflitefmt.ReadFile(path)
	if err != nil || g.Metadata == nil {
		return map[string]string{}, nil
	}
	return g.Metadata, nil
}
