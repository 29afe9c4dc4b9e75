package main

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/control"
)

// accountOptions are the server's per-user quota defaults and how long it
// keeps finished jobs and deleted sandboxes.
type accountOptions struct {
	QuotaSandboxes   int
	QuotaCPU         float64
	QuotaMemory      string
	QuotaExecs       int
	QuotaTunnels     int
	JobRetention     time.Duration
	DeletedRetention time.Duration
	AuditRetention   time.Duration
}

func (o *accountOptions) register(fs *pflag.FlagSet) {
	d := codepod.DefaultQuota
	envInt(fs, &o.QuotaSandboxes, "quota-sandboxes", "CODEPOD_QUOTA_SANDBOXES", d.Sandboxes, "default per-user quota: sandboxes (0: no limit)")
	envFloat(fs, &o.QuotaCPU, "quota-cpu", "CODEPOD_QUOTA_CPU", d.CPU, "default per-user quota: CPUs over all sandboxes (0: no limit)")
	envString(fs, &o.QuotaMemory, "quota-memory", "CODEPOD_QUOTA_MEMORY", codepod.FormatBytes(d.MemoryBytes), "default per-user quota: memory over all sandboxes (0: no limit)")
	envInt(fs, &o.QuotaExecs, "quota-execs", "CODEPOD_QUOTA_EXECS", d.Execs, "default per-user quota: concurrent execs per replica (0: no limit)")
	envInt(fs, &o.QuotaTunnels, "quota-tunnels", "CODEPOD_QUOTA_TUNNELS", d.Tunnels, "default per-user quota: concurrent tunnels and terminals per replica (0: no limit)")
	envDuration(fs, &o.JobRetention, "job-retention", "CODEPOD_JOB_RETENTION", control.DefaultJobRetention, "how long finished jobs are kept")
	envDuration(fs, &o.DeletedRetention, "deleted-retention", "CODEPOD_DELETED_RETENTION", control.DefaultDeletedRetention, "how long deleted sandboxes' records are kept")
	envDuration(fs, &o.AuditRetention, "audit-retention", "CODEPOD_AUDIT_RETENTION", control.DefaultAuditRetention, "how long audit log entries are kept (0: forever; see docs/audit.md)")
}

// apply sets the quota and retention of cfg.
func (o accountOptions) apply(cfg *control.Config) error {
	mem := int64(0)
	if o.QuotaMemory != "0" {
		var err error
		if mem, err = codepod.ParseBytes(o.QuotaMemory); err != nil {
			return fmt.Errorf("--quota-memory: %w", err)
		}
	}
	if o.QuotaSandboxes < 0 || o.QuotaCPU < 0 || o.QuotaExecs < 0 || o.QuotaTunnels < 0 {
		return fmt.Errorf("quota flags must be 0 (no limit) or more")
	}
	cfg.Quota = &codepod.Quota{Sandboxes: o.QuotaSandboxes, CPU: o.QuotaCPU, MemoryBytes: mem, Execs: o.QuotaExecs, Tunnels: o.QuotaTunnels}
	cfg.JobRetention, cfg.DeletedRetention = o.JobRetention, o.DeletedRetention
	if o.AuditRetention < 0 {
		return fmt.Errorf("--audit-retention must be 0 (keep forever) or more")
	}
	cfg.AuditRetention = o.AuditRetention
	return nil
}
