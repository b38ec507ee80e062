package runtime

import "strings"

// Placement says where an engine actually runs and, when the requested
// accelerator could not load (Options.Fallback), why. It is what `edgecnn
// run` logs at start and reports on /healthz and /metrics, and what
// `predict --json` prints, so that a fallback is never silent.
type Placement struct {
	Backend string `json:"backend"`
	// Delegate is the accelerator in use: a TFLite delegate (xnnpack,
	// edgetpu), an ONNX Runtime execution provider (cuda, tensorrt), or
	// "cpu" for the backend's own CPU kernels.
	Delegate string `json:"delegate"`
	// Requested is the accelerator the options asked for ("cpu": none).
	Requested string `json:"requested"`
	// Fallback is true when Delegate is not the one requested; Reason is
	// the error that kept the requested one from loading.
	Fallback bool   `json:"fallback"`
	Reason   string `json:"fallback_reason,omitempty"`
}

// PlacementOf reports where e runs, given the options it was opened with.
// Backends with accelerators tell what they use through a Delegate() or
// EP() method returning (name in use, fallback reason).
func PlacementOf(e Engine, opt Options) Placement {
	p := Placement{Backend: e.Backend(), Delegate: "cpu", Requested: "cpu"}
	switch d := strings.ToLower(opt.Delegate); {
	case d != "" && d != "cpu" && d != "none":
		p.Requested = d
	case opt.XNNPACK:
		p.Requested = "xnnpack"
	case opt.EP != "" && !strings.EqualFold(opt.EP, "cpu"):
		p.Requested = strings.ToLower(opt.EP)
	}
	var reason string
	if d, ok := e.(interface{ Delegate() (string, string) }); ok {
		name, why := d.Delegate()
		if name != "" {
			p.Delegate = name
		}
		reason = why
	} else if d, ok := e.(interface{ EP() (string, string) }); ok {
		name, why := d.EP()
		if name != "" {
			p.Delegate = name
		}
		reason = why
	}
	if p.Delegate != p.Requested {
		p.Fallback = true
		p.Reason = reason
		if p.Reason == "" {
			p.Reason = "the " + p.Backend + " backend does not use " + p.Requested
		}
	}
	return p
}
