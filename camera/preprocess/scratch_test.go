package preprocess

import (
	"image"
	"image/png"
	"os"
	"testing"

	"github.com/edgecnn/edgecnn/camera"
)

func TestScratchDump(t *testing.T) {
	path := os.Getenv("SCRATCH")
	if path == "" {
		t.Skip()
	}
	img, err := camera.DecodeFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := New(Config{})
	res, err := p.Process(img)
	if err != nil {
		t.Fatal(err)
	}
	ww, wh := res.Work.X, res.Work.Y
	t.Logf("work %dx%d dark %v T %v digits %d comps %d", ww, wh, res.DarkInk, res.Threshold, len(res.Digits), len(p.comps)-1)
	for id, c := range p.comps[1:] {
		if c.area > 10 {
			t.Logf("comp %d area %d box %d,%d-%d,%d ink %d plausible %v", id+1, c.area, c.x0, c.y0, c.x1, c.y1, c.inkSum/c.area, plausible(c.w(), c.h(), ww, wh))
		}
	}
	out := image.NewGray(image.Rect(0, 0, ww, 3*wh))
	copy(out.Pix, p.small[:ww*wh])
	copy(out.Pix[ww*wh:], p.ink[:ww*wh])
	for i := 0; i < ww*wh; i++ {
		out.Pix[2*ww*wh+i] = uint8(min(255, 255/p.paper[i]/1))
	}
	f, _ := os.Create("/tmp/cam/dump.png")
	png.Encode(f, out)
	f.Close()
}
