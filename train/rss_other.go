//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package train

func peakRSS() int64 { return 0 }
