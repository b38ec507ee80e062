package cross

import (
	"path/filepath"
	"testing"
)

func TestOutDir(t *testing.T) {
	for _, c := range []struct {
		out  string
		n    int
		want string
	}{{"", 1, filepath.Join("bin", "rpi4")}, {"", 2, filepath.Join("bin", "rpi4")}, {"dist", 1, "dist"}, {"dist", 2, filepath.Join("dist", "rpi4")}} {
		if got := OutDir(c.out, "rpi4", c.n); got != c.want {
			t.Errorf("OutDir(%q, rpi4, %d) = %q, want %q", c.out, c.n, got, c.want)
		}
	}
}
