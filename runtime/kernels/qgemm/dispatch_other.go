//go:build noasm || !(amd64 || arm64)

package qgemm

func asmKernels() []kernel { return nil }
