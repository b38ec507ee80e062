// Command fetchlibs downloads the native libraries of the cgo backends into
// a cache directory (see package libs) and prints one directory per line.
//
//	go run ./cross/libs/cmd/fetchlibs -cache .cache/libs -lib all -arch amd64,arm64
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	goruntime "runtime"
	"strings"

	"github.com/edgecnn/edgecnn/cross/libs"
)

func main() {
	cache := flag.String("cache", ".cache/libs", "cache directory")
	lib := flag.String("lib", "all", "comma-separated libraries ("+strings.Join(libs.Libraries(), ", ")+") or all")
	arch := flag.String("arch", goruntime.GOARCH, "comma-separated GOARCH values (amd64, arm64)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	names := strings.Split(*lib, ",")
	if *lib == "all" {
		names = libs.Libraries()
	}
	for _, n := range names {
		for _, a := range strings.Split(*arch, ",") {
			dir, err := libs.Fetch(ctx, *cache, n, a)
			if err != nil {
				fmt.Fprintln(os.Stderr, "fetchlibs:", err)
				os.Exit(1)
			}
			fmt.Println(dir)
		}
	}
}
