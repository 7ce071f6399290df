package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// child is a running `vneidgw serve` process.
type child struct {
	cmd  *exec.Cmd
	addr string // host:port of its web server
	done chan error
}

// createKey runs `vneidgw apikey create` on dataDir and returns the token.
func createKey(ctx context.Context, binary, dataDir string) (string, error) {
	out, err := exec.CommandContext(ctx, binary, "apikey", "create", "--name", "bench", "--data-dir", dataDir).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("apikey create: %w: %s", err, out)
	}
	for line := range strings.Lines(string(out)) {
		if tok := strings.TrimSpace(line); strings.HasPrefix(tok, "vgw_") {
			return tok, nil
		}
	}
	return "", fmt.Errorf("apikey create printed no token: %s", out)
}

// startChild starts `vneidgw serve --config cfgPath` and waits for its
// "listening on" line. Its log goes to logPath.
func startChild(ctx context.Context, binary, cfgPath, logPath string) (*child, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binary, "serve", "--config", cfgPath)
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, done: make(chan error, 1)}
	addrCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if rest, ok := strings.CutPrefix(line, "vneidgw listening on http://"); ok {
				addrCh <- strings.TrimSuffix(rest, "/")
			}
		}
		io.Copy(io.Discard, out)
	}()
	go func() { c.done <- cmd.Wait(); logf.Close() }()
	select {
	case c.addr = <-addrCh:
		return c, nil
	case err := <-c.done:
		return nil, fmt.Errorf("vneidgw serve exited: %v (log: %s)", err, logPath)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		return nil, fmt.Errorf("vneidgw serve did not start in 30s (log: %s)", logPath)
	case <-ctx.Done():
		cmd.Process.Kill()
		return nil, ctx.Err()
	}
}

// stop sends SIGTERM and waits.
func (c *child) stop() error {
	c.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-c.done:
		return err
	case <-time.After(20 * time.Second):
		c.cmd.Process.Kill()
		return <-c.done
	}
}

// peakRSS returns the VmHWM (peak resident set) of pid in bytes.
func peakRSS(pid int) (int64, error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmHWM for pid %d", pid)
}

// rssSample is a reading of /proc/<pid>/status in bytes.
type rssSample struct{ anon, file int64 }

// readRSS returns the current anonymous and file-backed resident memory of pid.
func readRSS(pid int) (rssSample, error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return rssSample{}, err
	}
	var s rssSample
	for _, line := range strings.Split(string(data), "\n") {
		for _, f := range []struct {
			key string
			dst *int64
		}{{"RssAnon:", &s.anon}, {"RssFile:", &s.file}} {
			if rest, ok := strings.CutPrefix(line, f.key); ok {
				kb, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
				*f.dst = kb * 1024
			}
		}
	}
	return s, nil
}

// rssPeaks samples pid every 100 ms until ctx ends and returns the peaks.
func rssPeaks(ctx context.Context, pid int) <-chan rssSample {
	out := make(chan rssSample, 1)
	go func() {
		var peak rssSample
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if s, err := readRSS(pid); err == nil {
				peak.anon, peak.file = max(peak.anon, s.anon), max(peak.file, s.file)
			}
			select {
			case <-ctx.Done():
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// cpuTime returns the user+system CPU time pid has used.
func cpuTime(pid int) (time.Duration, error) {
	u, s, err := cpuTimes(pid)
	return u + s, err
}

// cpuTimes returns the user and the system CPU time pid has used.
func cpuTimes(pid int) (user, sys time.Duration, err error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, err
	}
	// Fields after the command name (which may hold spaces) start after ")".
	rest := string(data[strings.LastIndexByte(string(data), ')')+2:])
	f := strings.Fields(rest)
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const tick = time.Second / 100 // USER_HZ is 100 on Linux
	return time.Duration(utime) * tick, time.Duration(stime) * tick, nil
}

// writeBytes is what the process has caused to be written to storage
// (write_bytes in /proc/<pid>/io: page cache writeback of its files,
// mmapped WAL pages included), or 0 when the kernel does not say.
func writeBytes(pid int) int64 {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "io"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// machineTimes is the machine's aggregate CPU time by state, from the
// "cpu" line of /proc/stat, in USER_HZ ticks.
type machineTimes struct {
	busy, idle, iowait, steal int64
}

// readMachineTimes reads /proc/stat; the zero value when it cannot.
func readMachineTimes() machineTimes {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineTimes{}
	}
	return parseMachineTimes(string(data))
}

// parseMachineTimes reads the "cpu" line of /proc/stat's text: user nice
// system idle iowait irq softirq steal (guest time is already in user).
// The zero value when the line is missing or short.
func parseMachineTimes(stat string) machineTimes {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return machineTimes{}
	}
	var v [8]int64
	for i := range v {
		n, err := strconv.ParseInt(f[i+1], 10, 64)
		if err != nil {
			return machineTimes{}
		}
		v[i] = n
	}
	return machineTimes{busy: v[0] + v[1] + v[2] + v[5] + v[6], idle: v[3], iowait: v[4], steal: v[7]}
}

func (a machineTimes) sub(b machineTimes) machineTimes {
	return machineTimes{busy: a.busy - b.busy, idle: a.idle - b.idle, iowait: a.iowait - b.iowait, steal: a.steal - b.steal}
}

func (a machineTimes) total() int64 { return a.busy + a.idle + a.iowait + a.steal }
