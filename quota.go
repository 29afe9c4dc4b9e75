package codepod

import "fmt"

// Quota bounds what one user may hold at once. A zero field means no limit.
type Quota struct {
	Sandboxes   int     `json:"sandboxes"`    // sandboxes that hold (or may soon hold) a container
	CPU         float64 `json:"cpu"`          // sum of their cores
	MemoryBytes int64   `json:"memory_bytes"` // sum of their memory limits
	Execs       int     `json:"execs"`        // concurrent execs (REST and streaming), per server replica
	Tunnels     int     `json:"tunnels"`      // concurrent tunnels and terminals, per server replica
}

// DefaultQuota is the server's quota when the operator sets none.
var DefaultQuota = Quota{Sandboxes: 10, CPU: 16, MemoryBytes: 32 << 30, Execs: 64, Tunnels: 64}

// QuotaOverride is an admin's per-user change to the server's quota: nil
// fields keep the server's value, 0 lifts the limit.
type QuotaOverride struct {
	Sandboxes   *int     `json:"sandboxes,omitempty"`
	CPU         *float64 `json:"cpu,omitempty"`
	MemoryBytes *int64   `json:"memory_bytes,omitempty"`
	Execs       *int     `json:"execs,omitempty"`
	Tunnels     *int     `json:"tunnels,omitempty"`
}

// IsZero reports whether o overrides nothing.
func (o QuotaOverride) IsZero() bool {
	return o.Sandboxes == nil && o.CPU == nil && o.MemoryBytes == nil && o.Execs == nil && o.Tunnels == nil
}

// Merge returns o with the fields that u sets replaced.
func (o QuotaOverride) Merge(u QuotaOverride) QuotaOverride {
	if u.Sandboxes != nil {
		o.Sandboxes = u.Sandboxes
	}
	if u.CPU != nil {
		o.CPU = u.CPU
	}
	if u.MemoryBytes != nil {
		o.MemoryBytes = u.MemoryBytes
	}
	if u.Execs != nil {
		o.Execs = u.Execs
	}
	if u.Tunnels != nil {
		o.Tunnels = u.Tunnels
	}
	return o
}

// Apply returns q with o's overrides.
func (q Quota) Apply(o QuotaOverride) Quota {
	if o.Sandboxes != nil {
		q.Sandboxes = *o.Sandboxes
	}
	if o.CPU != nil {
		q.CPU = *o.CPU
	}
	if o.MemoryBytes != nil {
		q.MemoryBytes = *o.MemoryBytes
	}
	if o.Execs != nil {
		q.Execs = *o.Execs
	}
	if o.Tunnels != nil {
		q.Tunnels = *o.Tunnels
	}
	return q
}

// Validate checks that no limit is negative.
func (o QuotaOverride) Validate() error {
	bad := (o.Sandboxes != nil && *o.Sandboxes < 0) || (o.CPU != nil && *o.CPU < 0) ||
		(o.MemoryBytes != nil && *o.MemoryBytes < 0) || (o.Execs != nil && *o.Execs < 0) || (o.Tunnels != nil && *o.Tunnels < 0)
	if bad {
		return Errorf(EINVALID, "quota limits must be 0 (no limit) or more")
	}
	return nil
}

// QuotaUsage is what a user holds now.
type QuotaUsage struct {
	Sandboxes   int     `json:"sandboxes"`
	CPU         float64 `json:"cpu"`
	MemoryBytes int64   `json:"memory_bytes"`
	Execs       int     `json:"execs"`
	Tunnels     int     `json:"tunnels"`
}

// CountsAgainstQuota reports whether a sandbox in status s holds resources:
// deleted, failed and lost sandboxes hold no container and do not count.
func CountsAgainstQuota(s SandboxStatus) bool {
	return s != SandboxDeleted && s != SandboxError && s != SandboxLost
}

// CheckSandbox returns an EFORBIDDEN error naming the first limit that a
// new sandbox of spec would pass, given what the user holds now.
func (q Quota) CheckSandbox(u QuotaUsage, spec SandboxSpec) error {
	const hint = "delete one or ask an admin to raise your quota"
	switch {
	case q.Sandboxes > 0 && u.Sandboxes+1 > q.Sandboxes:
		return Errorf(EFORBIDDEN, "quota exceeded: %d of %d sandboxes in use; %s", u.Sandboxes, q.Sandboxes, hint)
	case q.CPU > 0 && u.CPU+spec.CPU > q.CPU+1e-9:
		return Errorf(EFORBIDDEN, "quota exceeded: %g of %g CPUs in use and this sandbox asks for %g; %s", u.CPU, q.CPU, spec.CPU, hint)
	case q.MemoryBytes > 0 && u.MemoryBytes+spec.MemoryBytes > q.MemoryBytes:
		return Errorf(EFORBIDDEN, "quota exceeded: %s of %s memory in use and this sandbox asks for %s; %s",
			FormatBytes(u.MemoryBytes), FormatBytes(q.MemoryBytes), FormatBytes(spec.MemoryBytes), hint)
	}
	return nil
}

// CheckSession returns an EFORBIDDEN error when one more session of kind
// ("exec" or "tunnel") would pass the limit.
func (q Quota) CheckSession(kind string, inUse int) error {
	limit := q.Execs
	if kind != "exec" {
		limit = q.Tunnels
	}
	if limit > 0 && inUse+1 > limit {
		return Errorf(EFORBIDDEN, "quota exceeded: %d of %d concurrent %ss in use; end one or ask an admin to raise your quota", inUse, limit, kind)
	}
	return nil
}

func (q Quota) String() string {
	return fmt.Sprintf("sandboxes=%d cpu=%g memory=%s execs=%d tunnels=%d", q.Sandboxes, q.CPU, FormatBytes(q.MemoryBytes), q.Execs, q.Tunnels)
}
