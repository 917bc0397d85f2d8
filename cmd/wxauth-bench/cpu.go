package main

import (
	"os"
	"strconv"
	"strings"
)

// cpuTimes reads the machine's busy and total jiffies from /proc/stat
// (Linux); ok is false elsewhere. The difference over a scenario says
// whether it was bound by the CPU (every process on the machine counts:
// wxauth, PostgreSQL, Redis and the clients share the cores).
func cpuTimes() (busy, total uint64, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, false
	}
	for i, s := range f[1:] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total, true
}
