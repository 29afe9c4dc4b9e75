package codepod

import "time"

// SandboxPort is a TCP port inside a sandbox that its owner opened for the
// preview proxy. Only open ports are proxied; closing one revokes every
// preview link minted for it (they are signed with Secret).
type SandboxPort struct {
	SandboxID string
	Port      int
	// Public ports are proxied without a credential.
	Public bool
	Label  string
	// Secret signs the port's preview links; made when the port is opened,
	// never shown.
	Secret    []byte
	CreatedAt time.Time
}

// MaxPortLabel bounds a port's label.
const MaxPortLabel = 100

// ValidatePort checks a port number and label.
func ValidatePort(port int, label string) error {
	if port < 1 || port > 65535 {
		return Errorf(EINVALID, "port %d must be between 1 and 65535", port)
	}
	if len(label) > MaxPortLabel {
		return Errorf(EINVALID, "a port label is at most %d bytes", MaxPortLabel)
	}
	return nil
}

// MinIdleTimeout is the shortest idle timeout a sandbox may have.
const MinIdleTimeout = time.Second

// ValidateIdleTimeout checks an idle timeout: 0 (none) or at least
// MinIdleTimeout.
func ValidateIdleTimeout(d time.Duration) error {
	if d < 0 || (d > 0 && d < MinIdleTimeout) {
		return Errorf(EINVALID, "idle_timeout %s must be at least %s (or 0 for none)", d, MinIdleTimeout)
	}
	return nil
}
