// Command arm64model prints the instruction and memory-traffic count per
// inference of the arm64 int8 kernels for every arm64 board of the board
// table (make bench-arm64-model). See package armmodel for the method.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/edgecnn/edgecnn/boards"
	"github.com/edgecnn/edgecnn/runtime/kernels/qgemm/armmodel"
)

func main() {
	asm := flag.String("asm", "runtime/kernels/qgemm/gemm_arm64.s", "generated arm64 kernels")
	flag.Parse()
	src, err := os.ReadFile(*asm)
	if err == nil {
		var ks armmodel.Kernels
		if ks, err = armmodel.Parse(string(src)); err == nil {
			err = armmodel.WriteTable(os.Stdout, ks, boards.All())
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "arm64model:", err)
		os.Exit(1)
	}
}
