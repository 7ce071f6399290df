package store

import (
	"os"
	"syscall"
)

// fdatasync syncs f's data without its times: the journal's blocks are
// written once when the file is made, so a record needs no metadata.
func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
