//go:build linux

package live

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

// procSupportErr is nil: Linux has /proc.
var procSupportErr error

// clkTck is USER_HZ, the unit of the CPU times in /proc/PID/stat
// (sysconf(_SC_CLK_TCK), read from the auxiliary vector; 100 everywhere
// in practice).
var clkTck = readClkTck()

func readClkTck() uint64 {
	b, err := os.ReadFile("/proc/self/auxv")
	word := int(unsafe.Sizeof(uintptr(0)))
	if err == nil {
		for i := 0; i+2*word <= len(b); i += 2 * word {
			var k, v uint64
			if word == 8 {
				k, v = binary.NativeEndian.Uint64(b[i:]), binary.NativeEndian.Uint64(b[i+word:])
			} else {
				k, v = uint64(binary.NativeEndian.Uint32(b[i:])), uint64(binary.NativeEndian.Uint32(b[i+word:]))
			}
			if k == 17 && v > 0 { // AT_CLKTCK
				return v
			}
		}
	}
	return 100
}

var pageSize = uint64(os.Getpagesize())

// procReader reads process trees and their memory from /proc, reusing its
// buffers between readings.
type procReader struct {
	buf   []byte
	path  []byte
	queue []int
	out   []procCPU
	// scan: the kernel has no /proc/PID/task/TID/children
	// (CONFIG_PROC_CHILDREN off): descendants are found by a scan of /proc.
	scan bool
}

// readFile reads a /proc file into r.buf.
func (r *procReader) readFile(path []byte) ([]byte, error) {
	if r.buf == nil {
		r.buf = make([]byte, 4096)
	}
	fd, err := syscall.Open(string(path), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	n := 0
	for {
		if n == len(r.buf) {
			r.buf = append(r.buf, make([]byte, len(r.buf))...)
		}
		m, err := syscall.Read(fd, r.buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m == 0 {
			return r.buf[:n], nil
		}
		n += m
	}
}

func (r *procReader) procPath(pid int, rest string) []byte {
	r.path = append(r.path[:0], "/proc/"...)
	r.path = strconv.AppendInt(r.path, int64(pid), 10)
	return append(r.path, rest...)
}

// stat parses /proc/PID/stat: parent, start time and CPU time (utime +
// stime + cutime + cstime, in clock ticks).
func (r *procReader) stat(pid int) (procCPU, error) {
	b, err := r.readFile(r.procPath(pid, "/stat"))
	if err != nil {
		return procCPU{}, err
	}
	return parseStat(pid, b)
}

func parseStat(pid int, b []byte) (procCPU, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procCPU{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	// fields from 3 (state) on; we need 4 (ppid), 14-17 (times), 22 (start)
	p := procCPU{pid: pid}
	f := b[i+1:]
	field := 2
	for len(f) > 0 && field < 22 {
		for len(f) > 0 && f[0] == ' ' {
			f = f[1:]
		}
		j := bytes.IndexByte(f, ' ')
		if j < 0 {
			j = len(f)
		}
		tok := f[:j]
		f = f[j:]
		field++
		switch field {
		case 4, 14, 15, 16, 17, 22:
			v, err := strconv.ParseInt(string(bytes.TrimSpace(tok)), 10, 64)
			if err != nil {
				return procCPU{}, fmt.Errorf("/proc/%d/stat: field %d: %w", pid, field, err)
			}
			switch field {
			case 4:
				p.ppid = int(v)
			case 22:
				p.start = uint64(v)
			default:
				if v > 0 {
					p.ticks += uint64(v)
				}
			}
		}
	}
	if field < 22 {
		return procCPU{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, field)
	}
	return p, nil
}

// children appends pid's child processes (those forked by any of its
// threads) to out.
func (r *procReader) children(pid int, out []int) []int {
	d, err := os.Open(string(r.procPath(pid, "/task")))
	if err != nil {
		return out
	}
	tids, _ := d.Readdirnames(-1)
	d.Close()
	for _, t := range tids {
		r.path = append(r.procPath(pid, "/task/"), t...)
		b, err := r.readFile(append(r.path, "/children"...))
		if err != nil {
			if errors.Is(err, syscall.ENOENT) && t == strconv.Itoa(pid) {
				r.scan = true
			}
			continue
		}
		for _, f := range bytes.Fields(b) {
			if c, err := strconv.Atoi(string(f)); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// tree reads the process tree under root (root included): root and its
// descendants, each with its CPU time. A process that exits meanwhile is
// left out; root itself gone is an error.
func (r *procReader) tree(root int) ([]procCPU, error) {
	rp, err := r.stat(root)
	if err != nil {
		return nil, fmt.Errorf("worker process %d: %w", root, err)
	}
	r.out = append(r.out[:0], rp)
	if r.scan {
		return r.scanTree(root)
	}
	for i := 0; i < len(r.out) && i < 4096; i++ {
		r.queue = r.children(r.out[i].pid, r.queue[:0])
		if r.scan {
			return r.scanTree(root)
		}
		for _, c := range r.queue {
			if p, err := r.stat(c); err == nil && p.ppid == r.out[i].pid {
				r.out = append(r.out, p)
			}
		}
	}
	return r.out, nil
}

// scanTree finds root's descendants by their parent, over every process
// of /proc.
func (r *procReader) scanTree(root int) ([]procCPU, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, err
	}
	var all []procCPU
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil || pid == root {
			continue
		}
		if p, err := r.stat(pid); err == nil {
			all = append(all, p)
		}
	}
	r.out = r.out[:1]
	for i := 0; i < len(r.out); i++ {
		for _, p := range all {
			if p.ppid == r.out[i].pid {
				r.out = append(r.out, p)
			}
		}
	}
	return r.out, nil
}

// memory is the working set of the processes: the sum of their
// proportional set sizes (Pss of /proc/PID/smaps_rollup: a page shared by
// forked workers counts once over the tree), or of their resident sets
// where the kernel has no smaps_rollup (before 4.14).
func (r *procReader) memory(pids []int) (uint64, error) {
	var sum uint64
	n := 0
	for _, pid := range pids {
		b, err := r.readFile(r.procPath(pid, "/smaps_rollup"))
		if err == nil {
			if v, ok := pssBytes(b); ok {
				sum += v
				n++
				continue
			}
		}
		b, err = r.readFile(r.procPath(pid, "/statm"))
		if err != nil {
			continue // exited
		}
		f := bytes.Fields(b)
		if len(f) < 2 {
			continue
		}
		res, err := strconv.ParseUint(string(f[1]), 10, 64)
		if err != nil {
			continue
		}
		sum += res * pageSize
		n++
	}
	if n == 0 {
		return 0, fmt.Errorf("no memory reading for processes %v", pids)
	}
	return sum, nil
}

func pssBytes(b []byte) (uint64, bool) {
	i := bytes.Index(b, []byte("\nPss:"))
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+5:])
	if len(f) < 2 || string(f[1]) != "kB" {
		return 0, false
	}
	v, err := strconv.ParseUint(string(f[0]), 10, 64)
	if err != nil {
		return 0, false
	}
	return v << 10, true
}
