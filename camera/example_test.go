package camera_test

import (
	"context"
	"fmt"
	"log"

	"github.com/edgecnn/edgecnn/camera"
)

// Open a source by its --camera spec and read frames: every source hands
// out *image.Gray, *image.YCbCr or *image.RGBA frames with a sequence
// number and capture time (the synthetic one also says which digit it drew).
func Example() {
	src, err := camera.Open(context.Background(), "synthetic:7", camera.Options{Width: 160, Height: 120})
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()
	fmt.Println(src)
	for i := 0; i < 2; i++ {
		f, err := src.Next(context.Background())
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("frame %d: %T %v, digit drawn: %v\n", f.Seq, f.Image, f.Image.Bounds().Size(), len(f.Truth) == 1)
	}
	// Output:
	// synthetic 160x120 seed 7
	// frame 1: *image.Gray (160,120), digit drawn: true
	// frame 2: *image.Gray (160,120), digit drawn: true
}
