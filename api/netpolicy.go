package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

type setNetworkPolicyInput struct {
	ID   string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
	Body NetworkPolicy
}

func registerNetworkPolicy(api huma.API, s *Server) {
	op := s.operation(userOnly, http.MethodPut, "/sandboxes/{id}/network-policy", "set-sandbox-network-policy", "sandboxes",
		"Change a sandbox's network policy", http.StatusNotFound, http.StatusConflict)
	register(api, s, describe(op, "Replaces the policy of a sandbox created with one. A running sandbox's runner applies it "+
		"without a restart (shortly after this answers); a stopped one takes it when it starts."), s.setNetworkPolicy)
}

func (s *Server) setNetworkPolicy(ctx context.Context, in *setNetworkPolicyInput) (*sandboxOutput, error) {
	sb, err := s.ctl.SetNetworkPolicy(ctx, caller(ctx), in.ID, *in.Body.domain())
	if err != nil {
		return nil, err
	}
	return &sandboxOutput{Body: newSandbox(sb)}, nil
}

// NetLogEntry counts what a sandbox's network policy refused to one
// destination.
type NetLogEntry struct {
	Destination string     `json:"destination" doc:"What was refused: an address or CIDR (maybe with :port), 'any' for everything not allowed, 'the runner host', or a name:port (reason domain)."`
	Reason      string     `json:"reason" enum:"deny,private,not-allowed,host,domain" doc:"deny: on the deny list; private: a private range under internet; not-allowed: not on the allow list; host: the runner host itself; domain: a name the egress refused (not on the allow list, or on the deny list; DNS query, HTTP Host or TLS SNI), one entry per refusal."`
	Packets     int64      `json:"packets" doc:"Refused packets: every refused connection attempt counts at least one (1 for a domain refusal)."`
	Name        string     `json:"name,omitempty" doc:"For reason domain: the name the sandbox asked for (empty when it sent none)."`
	Address     string     `json:"address,omitempty" doc:"For reason domain: the address the sandbox connected to (empty for DNS)."`
	Port        int        `json:"port,omitempty" doc:"For reason domain: the port (53 for DNS, 80, 443)."`
	Time        *time.Time `json:"time,omitempty" doc:"For reason domain: when it was refused."`
}

// NetLog is what a sandbox's network policy refused since it last started.
type NetLog struct {
	SandboxID string        `json:"sandbox_id"`
	Entries   []NetLogEntry `json:"entries"`
}

type netLogOutput struct {
	Body NetLog
}

func registerNetLog(api huma.API, s *Server) {
	op := s.operation(userOnly, http.MethodGet, "/sandboxes/{id}/net-log", "get-sandbox-net-log", "sandboxes",
		"What a sandbox's network policy refused", http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable)
	register(api, s, describe(op, "Asks the sandbox's runner for its refused connections, counted per destination "+
		"(the rule that refused them), most first, then the names its domain allow-list refused (the last 200, newest first). The sandbox must be running and have a network policy."), s.netLog)
}

func (s *Server) netLog(ctx context.Context, in *sandboxRef) (*netLogOutput, error) {
	sb, log, err := s.ctl.NetLog(ctx, caller(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	out := &netLogOutput{Body: NetLog{SandboxID: sb.ID, Entries: make([]NetLogEntry, 0, len(log))}}
	for _, d := range log {
		out.Body.Entries = append(out.Body.Entries, NetLogEntry{Destination: d.Destination, Reason: d.Reason, Packets: d.Packets,
			Name: d.Name, Address: d.Address, Port: d.Port, Time: d.Time})
	}
	return out, nil
}

func registerAgentUpgrade(api huma.API, s *Server) {
	op := s.operation(adminOnly, http.MethodPost, "/sandboxes/{id}/agent/upgrade", "upgrade-sandbox-agent", "sandboxes",
		"Replace a running sandbox's agent in place", http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable)
	register(api, s, describe(op, "Admins only. The sandbox's runner starts its current agent binary inside the running sandbox "+
		"and hands it the agent's listener: new sessions reach the new agent, open ones (an exec stream, an SSH login) finish on the old one, "+
		"and the sandbox never stops. Answers the sandbox with its new agent_version. See docs/upgrades.md."), s.upgradeAgent)
}

func (s *Server) upgradeAgent(ctx context.Context, in *sandboxRef) (*sandboxOutput, error) {
	sb, err := s.ctl.UpgradeAgent(ctx, caller(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &sandboxOutput{Body: newSandbox(sb).withSkew(s.cfg.Version)}, nil
}
