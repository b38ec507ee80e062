package oci

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ParseLayoutRef splits "oci:DIR[:TAG]" (skopeo's syntax) into the folder
// and the tag (default "latest").
func ParseLayoutRef(s string) (dir, tag string, err error) {
	rest, ok := strings.CutPrefix(s, "oci:")
	if !ok || rest == "" {
		return "", "", fmt.Errorf("image %q: want oci:DIR or oci:DIR:TAG (an OCI image layout folder)", s)
	}
	dir, tag = rest, "latest"
	if i := strings.LastIndex(rest, ":"); i > 0 && !strings.Contains(rest[i+1:], "/") {
		dir, tag = rest[:i], rest[i+1:]
	}
	if tag == "" {
		return "", "", fmt.Errorf("image %q: empty tag", s)
	}
	return dir, tag, nil
}

// WriteLayout writes r as an OCI image layout in dir, tagged tag (the
// org.opencontainers.image.ref.name annotation skopeo and umoci read). One
// board gives an image, several a multi-arch index. The layout is made
// in a new sibling folder and renamed into place, so an interrupted build
// leaves the previous layout whole. It returns the digest of what was
// tagged.
func WriteLayout(dir, tag string, r *Result) (v1.Hash, error) {
	var zero v1.Hash
	abs, err := filepath.Abs(dir)
	if err != nil {
		return zero, err
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return zero, fmt.Errorf("image layout: %w", err)
	}
	if st, err := os.Stat(abs); err == nil {
		if !st.IsDir() {
			return zero, fmt.Errorf("image layout %s: exists and is not a folder", dir)
		}
		if _, err := os.Stat(filepath.Join(abs, "oci-layout")); err != nil {
			if ents, _ := os.ReadDir(abs); len(ents) > 0 {
				return zero, fmt.Errorf("image layout %s: folder exists, is not empty and is not an OCI layout; refusing to replace it", dir)
			}
		}
	}
	tmp, err := os.MkdirTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".tmp-")
	if err != nil {
		return zero, fmt.Errorf("image layout: %w", err)
	}
	defer os.RemoveAll(tmp)
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return zero, fmt.Errorf("image layout: %w", err)
	}
	ann := layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tag})
	var d v1.Hash
	if len(r.Images) == 1 {
		img := r.Images[0]
		pl := img.Platform
		if err := p.AppendImage(img.Image, ann, layout.WithPlatform(pl)); err != nil {
			return zero, fmt.Errorf("image layout: %w", err)
		}
		d, err = img.Image.Digest()
	} else {
		if err := p.AppendIndex(r.Index, ann); err != nil {
			return zero, fmt.Errorf("image layout: %w", err)
		}
		d, err = r.Index.Digest()
	}
	if err != nil {
		return zero, err
	}
	old := tmp + ".old"
	if _, err := os.Stat(abs); err == nil {
		if err := os.Rename(abs, old); err != nil {
			return zero, fmt.Errorf("image layout: %w", err)
		}
		defer os.RemoveAll(old)
	}
	if err := os.Rename(tmp, abs); err != nil {
		os.Rename(old, abs)
		return zero, fmt.Errorf("image layout: %w", err)
	}
	return d, nil
}

// PushOptions configure a push.
type PushOptions struct {
	// Insecure allows plain HTTP to a registry that is not on loopback or
	// a private network (those use HTTP anyway).
	Insecure bool
	// Auth overrides the credentials (default: ~/.docker/config.json and
	// credential helpers, as docker login writes them).
	Auth authn.Authenticator
}

// Push uploads r to ref (REGISTRY/REPO:TAG): one board as an image, several
// as a multi-arch index. Layers the registry already has are not sent
// again. It returns the pushed digest.
func Push(ctx context.Context, ref string, r *Result, o PushOptions) (v1.Hash, error) {
	var zero v1.Hash
	var nopts []name.Option
	if o.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	tag, err := name.ParseReference(ref, nopts...)
	if err != nil {
		return zero, fmt.Errorf("push: %q is not REGISTRY/REPO:TAG: %w", ref, err)
	}
	ropts := []remote.Option{remote.WithContext(ctx)}
	if o.Auth != nil {
		ropts = append(ropts, remote.WithAuth(o.Auth))
	} else {
		ropts = append(ropts, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	}
	var d v1.Hash
	if len(r.Images) == 1 {
		err = remote.Write(tag, r.Images[0].Image, ropts...)
		if err == nil {
			d, err = r.Images[0].Image.Digest()
		}
	} else {
		err = remote.WriteIndex(tag, r.Index, ropts...)
		if err == nil {
			d, err = r.Index.Digest()
		}
	}
	if err != nil {
		return zero, pushError(tag, err)
	}
	return d, nil
}

// pushError turns a registry's refusal into one line with the way out.
func pushError(ref name.Reference, err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		var msgs []string
		for _, e := range te.Errors {
			msgs = append(msgs, strings.TrimSpace(string(e.Code)+": "+e.Message))
		}
		detail := strings.Join(msgs, "; ")
		if detail == "" {
			detail = http.StatusText(te.StatusCode)
		}
		hint := ""
		switch te.StatusCode {
		case http.StatusUnauthorized:
			hint = ": log in first (docker login " + ref.Context().RegistryStr() + " writes ~/.docker/config.json, which edgecnn reads)"
		case http.StatusForbidden:
			hint = ": these credentials may not push to " + ref.Context().Name()
		case http.StatusMethodNotAllowed:
			hint = ": the registry does not accept pushes (read-only or a pull-through mirror)"
		case http.StatusServiceUnavailable:
			hint = ": the registry is unavailable or read-only"
		}
		return fmt.Errorf("push %s: the registry refused it (HTTP %d, %s)%s", ref, te.StatusCode, detail, hint)
	}
	return fmt.Errorf("push %s: %w", ref, oneLine(err))
}

type lineErr struct{ err error }

func (e lineErr) Error() string {
	return strings.ReplaceAll(strings.TrimSpace(e.err.Error()), "\n", "; ")
}
func (e lineErr) Unwrap() error { return e.err }

func oneLine(err error) error { return lineErr{err} }
