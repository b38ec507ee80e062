package inspect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/edgecnn/edgecnn/model"
)

// CheckpointReport describes an edgecnn checkpoint (edgecnn inspect x.ckpt).
type CheckpointReport struct {
	File      string              `json:"file"`
	Format    string              `json:"format"` // "checkpoint"
	Size      int64               `json:"size"`
	Version   string              `json:"edgecnn_version,omitempty"`
	Epoch     int                 `json:"epoch"`
	Arch      model.Arch          `json:"arch"`
	Norm      model.Normalization `json:"normalization"`
	Labels    []string            `json:"labels"`
	Params    int                 `json:"params"`
	MACs      int                 `json:"macs"`
	Resumable bool                `json:"resumable"` // optimizer state present (not --slim)
	Config    json.RawMessage     `json:"config,omitempty"`
	Metrics   json.RawMessage     `json:"metrics,omitempty"`
	// DataSources and Init: what the model was taught (model.DataSource).
	DataSources []model.DataSource   `json:"data_sources,omitempty"`
	Init        *model.CheckpointRef `json:"init,omitempty"`
}

// ReadCheckpoint reads and describes a checkpoint file.
func ReadCheckpoint(path string) (*CheckpointReport, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	ck, err := model.ReadCheckpointFile(path)
	if err != nil {
		return nil, err
	}
	m := ck.Model
	return &CheckpointReport{File: path, Format: "checkpoint", Size: st.Size(), Version: ck.Version, Epoch: ck.Epoch,
		Arch: m.Arch, Norm: m.Norm, Labels: m.Labels, Params: m.NumParams(), MACs: m.MACs(),
		Resumable: len(ck.State) > 0, Config: ck.Config, Metrics: ck.Metrics, DataSources: ck.DataSources, Init: ck.Init}, nil
}

// WriteText prints the report for people.
func (r *CheckpointReport) WriteText(w io.Writer) error {
	var b bytes.Buffer
	resume := "resumable (optimizer state kept)"
	if !r.Resumable {
		resume = "slim (no optimizer state: fine-tune it with train --init)"
	}
	fmt.Fprintf(&b, "%s: edgecnn checkpoint, %d bytes, epoch %d, %s\n", r.File, r.Size, r.Epoch, resume)
	if r.Version != "" {
		fmt.Fprintf(&b, "written by edgecnn %s\n", r.Version)
	}
	a := r.Arch
	fmt.Fprintf(&b, "architecture: input %dx%dx%d, width %d, hidden %d, classes %d, batchnorm %v, dropout %g\n",
		a.InputH, a.InputW, a.InputC, a.Width, a.Hidden, a.Classes, a.BatchNorm, a.Dropout)
	fmt.Fprintf(&b, "parameters: %d, MACs per image: %d\n", r.Params, r.MACs)
	fmt.Fprintf(&b, "labels: %v\nnormalization: mean %g std %g\n", r.Labels, r.Norm.Mean, r.Norm.Std)
	for _, kv := range []struct {
		name string
		raw  json.RawMessage
	}{{"training configuration", r.Config}, {"training record", r.Metrics}} {
		if len(kv.raw) == 0 {
			continue
		}
		var pretty bytes.Buffer
		if json.Indent(&pretty, kv.raw, "  ", "  ") == nil {
			fmt.Fprintf(&b, "%s:\n  %s\n", kv.name, pretty.String())
		}
	}
	WriteLineage(&b, r.DataSources, r.Init)
	_, err := w.Write(b.Bytes())
	return err
}

// WriteLineage prints what a checkpoint records of its training data:
// the --init checkpoint it was fine-tuned from and its data sources.
func WriteLineage(w io.Writer, sources []model.DataSource, init *model.CheckpointRef) {
	if init != nil {
		fmt.Fprintf(w, "fine-tuned from %s (sha256 %s)\n", init.Path, init.SHA256)
	}
	if len(sources) == 0 {
		return
	}
	fmt.Fprintf(w, "data sources (what it was taught):\n")
	for _, d := range sources {
		line := fmt.Sprintf("  %-6s %s: %d images, sha256 %s", d.Kind, d.Path, d.Images, d.SHA256)
		if d.Weight > 0 {
			line += fmt.Sprintf(", %.0f%% of every batch", 100*d.Weight)
		}
		if d.From != "" {
			line += ", taught earlier (in " + d.From + ")"
		}
		fmt.Fprintln(w, line)
	}
}
