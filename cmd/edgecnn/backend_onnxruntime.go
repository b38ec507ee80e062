//go:build onnxruntime

package main

// The ONNX Runtime backend ("onnxruntime"), compiled in with -tags
// onnxruntime (make build-full); see docs/backends.md.
import _ "github.com/edgecnn/edgecnn/runtime/onnxruntime"
