// Package wakeup is a set of channels, one per key, each closed by a wake:
// the in-process half of the wake-ups of waiting runner polls, shared by
// control.LocalHub and store.Hub. The zero Set is ready to use.
package wakeup

import "sync"

// Set hands out, per key, a channel that the next Wake of that key closes.
type Set struct {
	mu    sync.Mutex
	chans map[string]chan struct{}
}

// Wait returns the channel the next Wake(key) closes.
func (s *Set) Wait(key string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.chans == nil {
		s.chans = map[string]chan struct{}{}
	}
	c, ok := s.chans[key]
	if !ok {
		c = make(chan struct{})
		s.chans[key] = c
	}
	return c
}

// Wake closes key's channel, waking everyone who waits on it now.
func (s *Set) Wake(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.chans[key]; ok {
		close(c)
		delete(s.chans, key)
	}
}

// WakeAll wakes every waiter of every key.
func (s *Set) WakeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, c := range s.chans {
		close(c)
		delete(s.chans, k)
	}
}
