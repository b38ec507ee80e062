// Package onnxpb holds the Go types of the ONNX protobuf schema, generated
// by protoc and protoc-gen-go from the onnx.proto that Debian's python3-onnx
// ships (/usr/lib/python3/dist-packages/onnx/onnx.proto). Do not edit
// onnx.pb.go: run `make gen-onnx`; `make check-onnx-gen` verifies it is current.
package onnxpb
