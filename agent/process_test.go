package agent_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/codepod-dev/codepod/agent"
	"golang.org/x/crypto/ssh"
)

// procCall sends one request to the process subsystem and returns the
// agent's answer lines.
func procCall(t *testing.T, c *ssh.Client, req agent.ProcessRequest) []agent.ProcessReply {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in, _ := s.StdinPipe()
	out, _ := s.StdoutPipe()
	if err := s.RequestSubsystem(agent.ProcessSubsystem); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(req)
	in.Write(append(b, '\n'))
	var replies []agent.ProcessReply
	sc := bufio.NewScanner(out)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var r agent.ProcessReply
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("reply %q: %v", sc.Bytes(), err)
		}
		replies = append(replies, r)
	}
	return replies
}

// procOne is procCall for a one-process answer; it fails on an error.
func procOne(t *testing.T, c *ssh.Client, req agent.ProcessRequest) agent.ProcessInfo {
	t.Helper()
	r := procCall(t, c, req)
	if len(r) != 1 || r[0].Process == nil {
		t.Fatalf("%s: %+v", req.Op, r)
	}
	return *r[0].Process
}

// TestProcessOutlivesConnection starts a process on one connection, drops
// it, and finishes the process from another.
func TestProcessOutlivesConnection(t *testing.T) {
	f := newFixture(t)
	startAgent(t, f)
	first := f.client(t)
	p := procOne(t, first, agent.ProcessRequest{Op: "start", Command: []string{"sh", "-c", `echo ready; read l; echo "got $l" >&2`}})
	first.Close()

	c := f.client(t)
	procOne(t, c, agent.ProcessRequest{Op: "stdin", PID: p.PID, Data: []byte("x\n"), Close: true})
	got := procOne(t, c, agent.ProcessRequest{Op: "wait", PID: p.PID})
	if got.Status != "exited" || got.ExitCode == nil || *got.ExitCode != 0 || got.StdinOpen {
		t.Fatalf("after stdin: %+v", got)
	}
	follow := procCall(t, c, agent.ProcessRequest{Op: "follow", PID: p.PID})
	var out, errs string
	for _, r := range follow {
		if r.Chunk != nil && r.Chunk.Stream == "stdout" {
			out += string(r.Chunk.Data)
		} else if r.Chunk != nil {
			errs += string(r.Chunk.Data)
		}
	}
	if out != "ready\n" || errs != "got x\n" || follow[len(follow)-1].Process == nil {
		t.Errorf("follow: stdout %q stderr %q, last %+v", out, errs, follow[len(follow)-1])
	}
}

// TestProcessTableIsBounded keeps MaxProcesses: exited processes are
// forgotten oldest first, running ones never, and a start beyond them all
// running is refused.
func TestProcessTableIsBounded(t *testing.T) {
	f := newFixture(t)
	startAgent(t, f)
	c := f.client(t)
	var pids []int
	for i := 0; i < agent.MaxProcesses+3; i++ {
		p := procOne(t, c, agent.ProcessRequest{Op: "start", Command: []string{"true"}})
		procOne(t, c, agent.ProcessRequest{Op: "wait", PID: p.PID})
		pids = append(pids, p.PID)
	}
	list := procCall(t, c, agent.ProcessRequest{Op: "list"})[0].Processes
	if len(list) != agent.MaxProcesses || list[len(list)-1].PID != pids[len(pids)-1] {
		t.Fatalf("%d listed, last %d; want %d, last %d", len(list), list[len(list)-1].PID, agent.MaxProcesses, pids[len(pids)-1])
	}
	for _, p := range list {
		if p.PID == pids[0] {
			t.Errorf("the oldest exited process %d is still kept", p.PID)
		}
	}
	var sleeper int
	for i := 0; i < agent.MaxProcesses; i++ {
		sleeper = procOne(t, c, agent.ProcessRequest{Op: "start", Command: []string{"sleep", "1000"}}).PID
	}
	r := procCall(t, c, agent.ProcessRequest{Op: "start", Command: []string{"true"}})
	if len(r) != 1 || r[0].Error == nil || r[0].Error.Code != "too_many" {
		t.Errorf("start with %d running: %+v", agent.MaxProcesses, r)
	}
	for _, tc := range []struct {
		req  agent.ProcessRequest
		code string
	}{
		{agent.ProcessRequest{Op: "get", PID: 1 << 30}, "not_found"},
		{agent.ProcessRequest{Op: "nope", PID: sleeper}, "invalid"},
		{agent.ProcessRequest{Op: "signal", PID: sleeper, Signal: "NOPE"}, "invalid"},
	} {
		r := procCall(t, c, tc.req)
		if len(r) != 1 || r[0].Error == nil || r[0].Error.Code != tc.code {
			t.Errorf("%+v: %s", tc.req, fmt.Sprint(r))
		}
	}
}
