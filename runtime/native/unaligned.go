//go:build amd64 || arm64

package native

import "unsafe"

// Unaligned 4- and 8-byte loads and stores at p+off for the im2col and
// padding loops: single instructions on amd64 and arm64. The caller has
// checked the bounds.

func ld32(p unsafe.Pointer, off int) uint32 { return *(*uint32)(unsafe.Add(p, off)) }

func st32(p unsafe.Pointer, off int, v uint32) { *(*uint32)(unsafe.Add(p, off)) = v }

func ld64(p unsafe.Pointer, off int) uint64 { return *(*uint64)(unsafe.Add(p, off)) }

func st64(p unsafe.Pointer, off int, v uint64) { *(*uint64)(unsafe.Add(p, off)) = v }
