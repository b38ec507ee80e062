package publish

import (
	"time"
)

// Reading is one recognition result as published (the state message's
// JSON and the webhook's body).
type Reading struct {
	// Time is when the frame that produced the reading was captured.
	Time       time.Time `json:"time"`
	Seq        uint64    `json:"seq"`    // the frame's sequence number
	Digits     string    `json:"digits"` // "" means no digit
	Confidence float32   `json:"confidence"`
	Model      string    `json:"model,omitempty"`  // model version
	Reason     string    `json:"reason,omitempty"` // why there is no digit
}
