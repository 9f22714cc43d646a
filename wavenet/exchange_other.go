//go:build !linux

package wavenet

import "errors"

// exchange is not available: the caller falls back to two renames.
func exchange(a, b string) error { return errors.ErrUnsupported }
