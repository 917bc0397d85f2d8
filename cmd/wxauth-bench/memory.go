package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/wxauth/wxauth/internal/token"
)

// measureMemory opens n sessions in the running instance's session store
// (through the token service, as logins do, with a sealed-key-sized
// session_key each) and prints how much the process grew: live heap after a
// full GC, and resident memory.
func measureMemory(ctx context.Context, st *stack, n int, out io.Writer) error {
	heap0, rss0 := heapAndRSS()
	key := make([]byte, 53) // a sealed session_key: version, nonce, 24-byte key, tag
	for i := range n {
		if _, err := st.tokens.Open(ctx, token.OpenRequest{UserID: fmt.Sprintf("u%07d", i%(n/3+1)), App: "mp", SessionKey: key}); err != nil {
			return err
		}
	}
	heap1, rss1 := heapAndRSS()
	fmt.Fprintf(out, "%d sessions: live heap +%.1f MB (%.0f B/session), resident +%.1f MB\n",
		n, float64(heap1-heap0)/1e6, float64(heap1-heap0)/float64(n), float64(rss1-rss0)/1e6)
	return nil
}

func heapAndRSS() (heap, rss uint64) {
	runtime.GC()
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			rss = kb * 1024
		}
	}
	return m.HeapAlloc, rss
}
