package control

import "context"

// MarkOffline runs the tick's step that marks silent runners offline, for
// tests that drive a mock clock instead of the ticker.
func (s *Service) MarkOffline(ctx context.Context) error { return s.markOffline(ctx) }
