//go:build !unix

package publish

import "os"

// lockDir does nothing where flock does not exist.
func lockDir(string) (*os.File, error) { return nil, nil }
