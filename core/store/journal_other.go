//go:build !linux

package store

import "os"

func openJournalFile(path string) (*os.File, error) { return os.OpenFile(path, os.O_WRONLY, 0) }

func writeJournal(f *os.File, blocks []byte, off int64) error {
	if _, err := f.WriteAt(blocks, off); err != nil {
		return err
	}
	return f.Sync()
}
