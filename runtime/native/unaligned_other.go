//go:build !amd64 && !arm64

package native

import (
	"encoding/binary"
	"unsafe"
)

// Byte-wise versions of unaligned.go for architectures (32-bit ARM) where
// an unaligned word access may fault. The caller has checked the bounds.

func bytesAt(p unsafe.Pointer, off, n int) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(p, off)), n)
}

func ld32(p unsafe.Pointer, off int) uint32 { return binary.LittleEndian.Uint32(bytesAt(p, off, 4)) }

func st32(p unsafe.Pointer, off int, v uint32) { binary.LittleEndian.PutUint32(bytesAt(p, off, 4), v) }

func ld64(p unsafe.Pointer, off int) uint64 { return binary.LittleEndian.Uint64(bytesAt(p, off, 8)) }

func st64(p unsafe.Pointer, off int, v uint64) { binary.LittleEndian.PutUint64(bytesAt(p, off, 8), v) }
