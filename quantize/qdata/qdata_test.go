package qdata

import (
	"errors"
	"reflect"
	"testing"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/quantize"
	"github.com/edgecnn/edgecnn/train/data"
)

func mnistSource(n int) *data.Source {
	return &data.Source{Info: model.DataSource{Path: "mnist", Kind: data.KindMNIST},
		Train: &data.Set{N: n, H: 28, W: 28, Pix: make([]uint8, n*28*28), Labels: make([]uint8, n)}}
}

func TestQATImagesSkipVal(t *testing.T) {
	src := mnistSource(10)
	_, _, idx, err := QATImages([]*data.Source{src}, 3, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 1, 2, 5, 6, 7, 8, 9}; !reflect.DeepEqual(idx, want) {
		t.Fatalf("index = %v, want %v", idx, want)
	}
	if _, _, idx, _ = QATImages([]*data.Source{src}, 3, 2, 2); !reflect.DeepEqual(idx, []int{0, 1}) {
		t.Fatalf("limit 2: index = %v", idx)
	}
	folder := mnistSource(10)
	folder.Info.Kind = data.KindFolder
	if _, _, _, err := QATImages([]*data.Source{folder}, 3, 2, 0); !errors.Is(err, quantize.ErrQATOptions) {
		t.Fatalf("image folder: err = %v, want ErrQATOptions", err)
	}
	if _, _, _, err := QATImages([]*data.Source{src, src}, 3, 2, 0); !errors.Is(err, quantize.ErrQATOptions) {
		t.Fatalf("two sources: err = %v, want ErrQATOptions", err)
	}
}
