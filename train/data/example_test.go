package data_test

import (
	"fmt"

	"github.com/edgecnn/edgecnn/train/data"
)

// MNIST's 60,000 images and 300 photos mixed 1:1 and 3:1: every batch of
// 64 holds each source's share.
func ExampleSampler() {
	for _, mix := range []string{"", "3,1"} {
		w, _ := data.ParseMix(mix)
		s, _ := data.NewSampler([]int{60000, 300}, w, func(source, i int) int { return source })
		order := make([]int, 64)
		s.Order(1, 0, order)
		var n [2]int
		for _, src := range order {
			n[src]++
		}
		fmt.Printf("mix %q: %d MNIST + %d photos per batch\n", mix, n[0], n[1])
	}
	// Output:
	// mix "": 32 MNIST + 32 photos per batch
	// mix "3,1": 48 MNIST + 16 photos per batch
}
