// Command arm64model prints the instruction and memory-traffic count per
// inference of the arm64 int8 and float kernels for every arm64 board of
// the board table (make bench-arm64-model). See package armmodel for the
// method.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/edgecnn/edgecnn/boards"
	"github.com/edgecnn/edgecnn/runtime/kernels/qgemm/armmodel"
)

func main() {
	asm := flag.String("asm", strings.Join(armmodel.AsmPaths, ","), "generated arm64 int8 kernels (comma-separated)")
	fasm := flag.String("float-asm", strings.Join(armmodel.FloatAsmPaths, ","), "generated arm64 float kernels (comma-separated)")
	flag.Parse()
	ks, err := armmodel.ParseFiles(strings.Split(*asm, ",")...)
	if err == nil {
		var fks armmodel.Kernels
		if fks, err = armmodel.ParseFiles(strings.Split(*fasm, ",")...); err == nil {
			err = armmodel.WriteTable(os.Stdout, ks, fks, boards.All())
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "arm64model:", err)
		os.Exit(1)
	}
}
