//go:build !linux

package store

import "errors"

const trimSupported = false

func pageOut(addr, n uintptr) error { return errors.ErrUnsupported }
