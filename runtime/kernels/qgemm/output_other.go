//go:build noasm || !(amd64 || arm64)

package qgemm

var outputKernels = []outputKernel{{"go-formula", outputFormula}}
