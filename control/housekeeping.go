package control

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Defaults of the housekeeping settings in Config.
const (
	DefaultJobRetention         = 24 * time.Hour
	DefaultDeletedRetention     = 7 * 24 * time.Hour
	DefaultHousekeepingInterval = time.Minute
	DefaultAuditRetention       = 365 * 24 * time.Hour
)

// housekeep prunes finished jobs and long-deleted sandboxes and finishes
// the deletion of users whose sandboxes are gone, at most once per
// HousekeepingInterval. Every step is idempotent, so replicas may all run it.
func (s *Service) housekeep(ctx context.Context) error {
	now := s.now()
	s.houseMu.Lock()
	due := now.Sub(s.lastHousekeeping) >= s.cfg.HousekeepingInterval
	if due {
		s.lastHousekeeping = now
	}
	s.houseMu.Unlock()
	if !due {
		return nil
	}
	return s.Housekeep(ctx)
}

// Housekeep runs every housekeeping step once, now.
func (s *Service) Housekeep(ctx context.Context) error {
	now := s.now()
	jobs, err := s.st.PruneJobs(ctx, now.Add(-s.cfg.JobRetention))
	if err != nil {
		return fmt.Errorf("prune jobs: %w", err)
	}
	boxes, err := s.st.PruneSandboxes(ctx, now.Add(-s.cfg.DeletedRetention))
	if err != nil {
		return fmt.Errorf("prune sandboxes: %w", err)
	}
	events, err := s.st.PruneWebhookEvents(ctx, now.Add(-s.cfg.WebhookRetention))
	if err != nil {
		return fmt.Errorf("prune webhook events: %w", err)
	}
	if events > 0 {
		s.log.Info("pruned webhook events", "events", events)
	}
	if s.cfg.AuditRetention > 0 {
		n, err := s.st.PruneAudit(ctx, now.Add(-s.cfg.AuditRetention))
		if err != nil {
			return fmt.Errorf("prune audit log: %w", err)
		}
		if n > 0 {
			s.log.Info("pruned audit log", "entries", n)
		}
	}
	if jobs+boxes > 0 {
		s.log.Info("pruned", "jobs", jobs, "sandboxes", boxes)
	}
	users, err := s.st.DeletingUsers(ctx, 100)
	if err != nil {
		return fmt.Errorf("list deleting users: %w", err)
	}
	var errs []error
	for _, u := range users {
		if _, err := s.finishDeletingUser(ctx, u.ID); err != nil {
			errs = append(errs, fmt.Errorf("delete user %s: %w", u.ID, err))
		}
	}
	return errors.Join(errs...)
}
