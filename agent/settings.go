package agent

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Numbers are the numeric settings of `edgecnn run` that are not part of
// Config; Check range-checks them like Config's.
type Numbers struct {
	FPS           float64 `flag:"fps" default:"30" usage:"capture frame rate"`
	Threads       int     `flag:"threads"`
	MinConfidence float64 `flag:"min-confidence"`
	// MemoryMiB is the memory the limits are derived from (0: detect).
	MemoryMiB int `flag:"memory" usage:"MiB of memory the limits are derived from (0: the smaller of RAM and the cgroup limit)"`
	// EngineMemoryMiB bounds the native engine's activations (0: default).
	EngineMemoryMiB int `flag:"engine-memory"`
}

// Check refuses NaN, infinite, negative and absurd values, naming the
// allowed range.
func (n Numbers) Check() error {
	if err := CheckFloat("fps", n.FPS, 0.01, 1000); err != nil {
		return err
	}
	if err := CheckInt("threads", n.Threads, 0, 256); err != nil {
		return err
	}
	if err := CheckFloat("min-confidence", n.MinConfidence, 0, 1); err != nil {
		return err
	}
	if err := CheckInt("engine-memory", n.EngineMemoryMiB, 0, 1<<22); err != nil {
		return err
	}
	return CheckInt("memory", n.MemoryMiB, 0, 1<<22)
}

// ErrModelDigest is returned (wrapped) when a model file does not match
// its SHA-256.
var ErrModelDigest = errors.New("model file does not match its SHA-256")

// SumFile is the sidecar of a model file that records its SHA-256, in the
// format of sha256sum: "HEX  NAME\n" (e.g. digits.tflite.sha256).
func SumFile(model string) string { return model + ".sha256" }

// SumsList is the release checksum list flash installs next to the model
// (sha256sum format, one "HEX  NAME" line per file; deploy.SumsFile).
const SumsList = "SHA256SUMS"

// VerifyModel checks the SHA-256 of the model file at path against want
// (64 hex digits) or, when want is empty, against the sidecar SumFile(path)
// or else the model's line in SHA256SUMS in its directory, if there is
// one. It returns what the file was verified against ("flag", the path of
// the sidecar or list, or "" when there was nothing to verify against) and
// an error wrapping ErrModelDigest on a mismatch.
func VerifyModel(path, want string) (string, error) {
	src := "flag"
	if want == "" {
		var err error
		if want, src, err = recordedSum(path); err != nil || want == "" {
			return "", err
		}
	}
	want = strings.ToLower(want)
	if b, err := hex.DecodeString(want); err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("model sha256 (%s): %q is not 64 hex digits", src, want)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("model sha256: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("model sha256: %s: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return "", fmt.Errorf("%w: %s has %s, %s says %s", ErrModelDigest, path, got, src, want)
	}
	return src, nil
}

// recordedSum finds the SHA-256 recorded for the model at path: its
// sidecar, else its line in SHA256SUMS beside it ("" when neither exists).
func recordedSum(path string) (sum, src string, err error) {
	base := filepath.Base(path)
	for _, list := range []string{SumFile(path), filepath.Join(filepath.Dir(path), SumsList)} {
		f, err := os.Open(list)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", "", fmt.Errorf("model sha256: %w", err)
		}
		sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
		sidecar := list == SumFile(path)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) == 0 {
				continue
			}
			name := ""
			if len(fields) > 1 {
				name = filepath.Base(strings.TrimPrefix(fields[1], "*"))
			}
			if sidecar {
				f.Close()
				if name != "" && name != base {
					return "", "", fmt.Errorf("model sha256: %s records %q, not %q", list, fields[1], base)
				}
				return fields[0], list, nil
			}
			if name == base {
				f.Close()
				return fields[0], list, nil
			}
		}
		f.Close()
		if sidecar {
			return "", "", fmt.Errorf("model sha256: %s is empty", list)
		}
	}
	return "", "", nil
}
