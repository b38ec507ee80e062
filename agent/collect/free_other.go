//go:build !unix

package collect

// freeBytes is unknown here: only the quota and write errors apply.
func freeBytes(string) (int64, bool) { return 0, false }
