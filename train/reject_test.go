package train

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/model"
)

func TestDecide(t *testing.T) {
	p := []float32{0.05, 0.9, 0.05}
	if d := Decide(p, 2, 0.5); d != 1 {
		t.Fatalf("confident digit: %d", d)
	}
	if d := Decide(p, 2, 0.95); d != -1 {
		t.Fatalf("below threshold: %d", d)
	}
	if d := Decide([]float32{0.1, 0.1, 0.8}, 2, 0.5); d != -1 {
		t.Fatalf("reject class: %d", d)
	}
	if d := Decide([]float32{0.1, 0.1, 0.8}, -1, 0.5); d != 2 {
		t.Fatalf("no reject class: %d", d)
	}
}

// robustAugment is deterministic per stream, stays in [0, 1], changes
// the image and keeps most of its ink.
func TestRobustAugment(t *testing.T) {
	ds := loadMNIST(t)
	src := ds.Train.Images[:784]
	a, b, tmp := make([]float32, 784), make([]float32, 784), make([]float32, 784)
	var inkSrc float32
	for _, v := range src {
		inkSrc += float32(v) / 255
	}
	for i := uint64(0); i < 50; i++ {
		r1, r2 := NewRNG(1, streamRobust, i), NewRNG(1, streamRobust, i)
		robustAugment(src, 28, 28, &r1, a, tmp)
		robustAugment(src, 28, 28, &r2, b, tmp)
		if !slices.Equal(a, b) {
			t.Fatalf("stream %d: not deterministic", i)
		}
		var ink, diff float32
		for j, v := range a {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("stream %d: pixel %d = %v outside [0, 1]", i, j, v)
			}
			ink += v
			diff += max(v-float32(src[j])/255, float32(src[j])/255-v)
		}
		if diff < 1 {
			t.Fatalf("stream %d: image unchanged (diff %.2f)", i, diff)
		}
		if ink < 0.2*inkSrc {
			t.Fatalf("stream %d: ink %.1f of %.1f left", i, ink, inkSrc)
		}
	}
}

// Training with --negatives gives an 11-class model labelled "x", picks a
// reject threshold on the validation split and records both; the plain
// config JSON of older recipes is unchanged (no new keys).
func TestTrainWithNegatives(t *testing.T) {
	cfg := smallConfig()
	cfg.BatchNorm, cfg.Robust, cfg.Negatives, cfg.Val = true, true, 0.1, 300
	out := filepath.Join(t.TempDir(), "m.ckpt")
	res, err := Train(context.Background(), Run{Config: cfg, Data: smallData(t, 1500), Out: out})
	if err != nil {
		t.Fatal(err)
	}
	ck, err := model.ReadCheckpointFile(out)
	if err != nil {
		t.Fatal(err)
	}
	m := ck.Model
	if m.Arch.Classes != 11 || strings.Join(m.Labels, ",") != "0,1,2,3,4,5,6,7,8,9,x" {
		t.Fatalf("classes %d labels %v", m.Arch.Classes, m.Labels)
	}
	if res.Metrics.Reject == nil || len(res.Metrics.RejectCandidates) != len(thresholdCandidates) {
		t.Fatalf("no reject threshold chosen: %+v", res.Metrics.Reject)
	}
	if m.RejectThreshold != float32(res.Metrics.Reject.Threshold) || !slices.Contains(thresholdCandidates, res.Metrics.Reject.Threshold) {
		t.Fatalf("threshold %v in the model, %v chosen", m.RejectThreshold, res.Metrics.Reject.Threshold)
	}
	for _, c := range res.Metrics.RejectCandidates {
		if score(c) > score(*res.Metrics.Reject)+1e-9 {
			t.Fatalf("candidate %+v scores above the chosen %+v", c, *res.Metrics.Reject)
		}
	}
	// 1 epoch of 1,350 images (+10% negatives): the class must be learned at all
	if res.Metrics.Reject.NegativesRejected < 50 {
		t.Fatalf("only %.1f%% of validation negatives rejected", res.Metrics.Reject.NegativesRejected)
	}
	if !bytes.Contains(ck.Config, []byte(`"negatives":0.1`)) || !bytes.Contains(ck.Config, []byte(`"robust":true`)) {
		t.Fatalf("config %s", ck.Config)
	}
	old := smallConfig()
	if j := string(mustJSON(t, old)); strings.Contains(j, "negatives") || strings.Contains(j, "robust") {
		t.Fatalf("plain config JSON grew new keys: %s", j)
	}
	bad := smallConfig()
	bad.Negatives = 0.9
	if err := bad.Validate(); err == nil {
		t.Fatal("--negatives 0.9 accepted")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
