package proc

import (
	"fmt"
	"os"
	"strconv"
)

// OOM score adjustments (see proc(5), /proc/pid/oom_score_adj).
const (
	OOMNever = -1000 // the kernel never picks the process
	OOMFirst = 1000  // the kernel picks the process before any other
)

// SetOOMScoreAdj writes pid's oom_score_adj (0: this process). Raising it
// needs no privilege; lowering it below the value the process started with
// needs CAP_SYS_RESOURCE.
func SetOOMScoreAdj(pid, adj int) error {
	path := "/proc/self/oom_score_adj"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/oom_score_adj", pid)
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(adj)), 0); err != nil {
		return fmt.Errorf("set oom_score_adj %d: %w", adj, err)
	}
	return nil
}

// OOMScoreAdj reads pid's oom_score_adj (0: this process).
func OOMScoreAdj(pid int) (int, error) {
	path := "/proc/self/oom_score_adj"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/oom_score_adj", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(string(trimNL(b)))
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

// SetChildOOMScoreAdj makes every process Start starts from now on get
// oom_score_adj adj right after it starts (0 leaves them as they inherit
// it). The agent sets OOMFirst, so under memory pressure the kernel kills
// the workload, never the agent. The value is written by the parent just
// after fork+exec: a process that forks within that instant leaves a child
// with the agent's own value (see docs/security-channel.md).
func (r *Reaper) SetChildOOMScoreAdj(adj int) {
	r.mu.Lock()
	r.childOOM = adj
	r.mu.Unlock()
}
