package runner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

// The disk watch. Docker's overlay2 storage bounds a container's writable
// layer only on xfs with project quotas (--storage-opt size=), so a
// sandbox could fill the runner's disk. Like the kubelet's ephemeral
// storage limit, the runner measures instead: every DiskCheckInterval it
// asks the engine what each running sandbox holds, its writable layer and
// its named volumes (the engine walks them; the runner opens no path in
// them), and kills a sandbox past its limit at once. The sandbox goes to
// error with the reason, reported at once and in every inventory after.
//
// A sandbox stopped this way still holds what it wrote. A start measures
// it before the container runs, and until it is back under its limit it
// may hold no more than that: the owner can start it to delete files (or
// copy them out), not to write more.

// DefaultDiskCheckInterval is how often the runner measures its sandboxes'
// disk by default.
const DefaultDiskCheckInterval = 10 * time.Second

// diskExceededFile marks a sandbox the disk watch stopped; the next start
// measures its layer into diskAllowanceFile. Both live in the runner's
// side of the sandbox directory, which the sandbox does not see.
func (r *Runner) diskExceededFile(id string) string {
	return filepath.Join(r.sandboxDir(id), "disk-exceeded")
}

func (r *Runner) diskAllowanceFile(id string) string {
	return filepath.Join(r.sandboxDir(id), "disk-allowance")
}

// diskLegacyFile marks a sandbox made before disk limits as measured once
// (grandfatherDisk).
func (r *Runner) diskLegacyFile(id string) string {
	return filepath.Join(r.sandboxDir(id), "disk-legacy-measured")
}

// diskDuty bounds the share of the time the engine spends measuring: a
// check that took d is followed by at least diskDuty×d of rest (the walk
// of large layers, say 20 sandboxes of 200,000 files, takes seconds).
const diskDuty = 9

// watchDisk runs checkDisk every DiskCheckInterval, or less often when a
// check takes long (diskDuty), until ctx ends.
func (r *Runner) watchDisk(ctx context.Context) {
	t := time.NewTimer(r.cfg.DiskCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		r.checkDisk(ctx)
		t.Reset(max(r.cfg.DiskCheckInterval, diskDuty*time.Since(start)))
	}
}

// checkDisk measures every running sandbox and stops those past their
// limit (or past what they held at their start after such a stop).
func (r *Runner) checkDisk(ctx context.Context) {
	list, err := r.cfg.Backend.DiskUsage(ctx, r.ID())
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("cannot measure the sandboxes' disk", "err", err)
		}
		return
	}
	for _, u := range list {
		if validSandboxID(u.SandboxID) != nil {
			continue
		}
		if u.Limit == 0 && r.grandfatherDisk(&u) {
			continue
		}
		if u.Used <= u.Limit {
			// Back under its limit (or never over): the limit holds again.
			if err := os.Remove(r.diskAllowanceFile(u.SandboxID)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				r.log.Warn("cannot remove a sandbox's disk allowance", "sandbox_id", u.SandboxID, "err", err)
			}
			continue
		}
		allowed := max(u.Limit, r.diskAllowance(u.SandboxID))
		if u.Used > allowed {
			r.stopForDisk(ctx, u, allowed)
		}
	}
}

// grandfatherDisk gives a sandbox made before disk limits (u.Limit 0)
// the default limit. A runner upgrade must not kill one that already
// holds more: the first time it is measured it keeps what it holds as its
// allowance (it may shrink, not grow), and true says so. Only the first
// time: one that shrank back under the default and grows again is over
// its limit like any other.
func (r *Runner) grandfatherDisk(u *DiskUsage) bool {
	u.Limit = codepod.DefaultLimits.DefaultDisk
	seen := r.diskLegacyFile(u.SandboxID)
	if _, err := os.Stat(seen); err == nil {
		return false
	}
	if err := writeFileAtomic(seen, nil, 0o600); err != nil {
		r.log.Warn("cannot record a sandbox's first disk measure", "sandbox_id", u.SandboxID, "err", err)
		return false
	}
	if u.Used <= u.Limit {
		return false
	}
	r.log.Info("sandbox made before disk limits holds more than the default: it may not grow", "sandbox_id", u.SandboxID, "used", u.Used, "limit", u.Limit)
	if err := writeFileAtomic(r.diskAllowanceFile(u.SandboxID), []byte(strconv.FormatInt(u.Used, 10)), 0o600); err != nil {
		r.log.Warn("cannot record a sandbox's disk allowance", "sandbox_id", u.SandboxID, "err", err)
		return false
	}
	return true
}

// diskAllowance is what a sandbox stopped by the disk watch held when it
// was started again, or what one made before disk limits held when first
// measured; 0 when there is none.
func (r *Runner) diskAllowance(id string) int64 {
	b, err := os.ReadFile(r.diskAllowanceFile(id))
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// stopForDisk kills a sandbox past its disk limit and puts it in error.
func (r *Runner) stopForDisk(ctx context.Context, u DiskUsage, allowed int64) {
	reason := fmt.Sprintf("disk: the sandbox wrote %s to its file system, over its limit of %s, and was stopped; "+
		"start it to delete files (it cannot grow until it is back under its limit), or make a sandbox with a larger disk",
		humanBytes(u.Used), humanBytes(allowed))
	r.log.Warn("sandbox over its disk limit: stopping it", "sandbox_id", u.SandboxID, "used", u.Used, "limit", allowed)
	// Both marks go first. A start after the stop measures what the
	// sandbox holds; the inventory reports it failed, with the reason, from
	// the moment it no longer runs (so no inventory in between says merely
	// stopped), should the report below not arrive.
	if err := writeFileAtomic(r.diskExceededFile(u.SandboxID), nil, 0o600); err != nil {
		r.log.Warn("cannot mark a sandbox over its disk limit", "sandbox_id", u.SandboxID, "err", err)
	}
	if err := writeFileAtomic(r.lifecycleFailedFile(u.SandboxID), []byte(reason), 0o644); err != nil {
		r.log.Warn("cannot record why a sandbox is stopped", "sandbox_id", u.SandboxID, "err", err)
	}
	if err := r.cfg.Backend.StopSandbox(ctx, u.SandboxID, 0); err != nil { // killed: no grace to write more
		r.log.Warn("cannot stop a sandbox over its disk limit; the next check tries again", "sandbox_id", u.SandboxID, "err", err)
		// Not stopped: a later stop of the owner's own is not a failure.
		os.Remove(r.lifecycleFailedFile(u.SandboxID))
		return
	}
	r.reportStateNow(ctx, wire.SandboxState{ID: u.SandboxID, State: wire.StateFailed, Reason: reason}, "a sandbox stopped for its disk")
}

// allowDiskAtStart runs before a start: a sandbox the disk watch stopped
// may hold, until it is back under its limit, what it holds now (the
// container does not run, so nothing writes meanwhile).
func (r *Runner) allowDiskAtStart(ctx context.Context, id string) error {
	if _, err := os.Stat(r.diskExceededFile(id)); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	used, err := r.cfg.Backend.DiskUsed(ctx, id)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(r.diskAllowanceFile(id), []byte(strconv.FormatInt(used, 10)), 0o600); err != nil {
		return err
	}
	if err := os.Remove(r.diskExceededFile(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// humanBytes renders n in the largest binary unit it reaches, to a tenth.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
