//go:build !board

package native

import "github.com/edgecnn/edgecnn/model/onnx"

// Outside board builds the native engine also reads .onnx files (the
// float and int8 QDQ graphs edgecnn export writes).
func init() { readONNX = onnx.ReadFile }
