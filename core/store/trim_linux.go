package store

import "syscall"

// madvPageout is MADV_PAGEOUT (Linux 5.4): reclaim the range's pages.
const madvPageout = 21

// trimSupported reports whether pageOut can work here.
const trimSupported = true

// pageOut asks the kernel to reclaim the pages of [addr, addr+n). It only
// passes addresses: nothing is dereferenced.
func pageOut(addr, n uintptr) error {
	if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, addr, n, madvPageout); e != 0 {
		return e
	}
	return nil
}
