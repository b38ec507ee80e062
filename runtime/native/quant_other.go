//go:build !amd64 || noasm

package native

const hasQuantizeAsm = false

func quantizeAsm(dst *int8, src *float32, blocks int, p *quantParams) int {
	panic("native: no assembly quantization kernel in this build")
}
