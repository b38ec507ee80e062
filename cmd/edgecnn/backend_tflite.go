//go:build tflite

package main

// The TensorFlow Lite backend ("tflite"), compiled in with -tags tflite
// (make build-full); see docs/backends.md.
import _ "github.com/edgecnn/edgecnn/runtime/tflite"
