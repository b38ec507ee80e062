package model

import (
	"fmt"
	"strconv"
	"strings"
)

// RejectLabel is the label of the "not a digit" class: a model whose
// labels include it answers "no digit" by classifying, not only by a low
// confidence.
const RejectLabel = "x"

// MetaRejectThreshold is the metadata key (checkpoint header field
// reject_threshold, graph metadata of every export) of the confidence
// below which a recognizer answers "no digit", chosen on validation data
// when the model was trained. Absent: the recognizer's own default.
const MetaRejectThreshold = "edgecnn.reject_threshold"

// ValidateLabels checks a model's class labels: one per class, none
// empty, no duplicates, and at most one RejectLabel (duplicates cover it).
// Labels travel comma-separated in metadata, so they may not hold commas.
func ValidateLabels(labels []string, classes int) error {
	if len(labels) != classes {
		return fmt.Errorf("model: %d labels for %d classes", len(labels), classes)
	}
	seen := make(map[string]int, len(labels))
	for i, l := range labels {
		if strings.TrimSpace(l) == "" {
			return fmt.Errorf("model: label of class %d is empty", i)
		}
		if strings.ContainsAny(l, ",\n") {
			return fmt.Errorf("model: label %q of class %d holds a comma or newline", l, i)
		}
		if j, ok := seen[l]; ok {
			return fmt.Errorf("model: label %q used for classes %d and %d", l, j, i)
		}
		seen[l] = i
	}
	return nil
}

// ParseLabels splits comma-separated metadata labels and validates them.
func ParseLabels(s string, classes int) ([]string, error) {
	l := strings.Split(s, ",")
	if err := ValidateLabels(l, classes); err != nil {
		return nil, err
	}
	return l, nil
}

// RejectIndex returns the class index of RejectLabel, or -1.
func RejectIndex(labels []string) int {
	for i, l := range labels {
		if l == RejectLabel {
			return i
		}
	}
	return -1
}

// ParseRejectThreshold reads edgecnn.reject_threshold from metadata: 0
// and no error when absent, an error when it is not a number in (0, 1).
func ParseRejectThreshold(md map[string]string) (float32, error) {
	s, ok := md[MetaRejectThreshold]
	if !ok || s == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(s, 32)
	if err != nil || !(v > 0 && v < 1) {
		return 0, fmt.Errorf("model: %s %q is not a number in (0, 1)", MetaRejectThreshold, s)
	}
	return float32(v), nil
}
