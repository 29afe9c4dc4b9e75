package api

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// admitLogin lets a login attempt through the rate limits and waits for a
// password hashing slot. done releases the slot and records a failure
// (ok false) against the client's address and the email.
func (s *Server) admitLogin(ctx context.Context, email string) (done func(ok bool), err error) {
	addr := clientAddress(remoteAddr(ctx))
	emailKey := "email:" + strings.ToLower(strings.TrimSpace(email))
	if ok, wait := s.logins.allow("login:" + addr); !ok {
		return nil, tooMany(wait, fmt.Sprintf("too many login attempts from %s", addr))
	}
	if err := s.refuseBlocked("addr:"+addr, "too many failed authentications from "+addr); err != nil {
		return nil, err
	}
	if err := s.refuseBlocked(emailKey, "too many failed logins for this account"); err != nil {
		return nil, err
	}
	release, err := s.hashing.enter(ctx)
	if errors.Is(err, errHashBusy) {
		return nil, tooMany(time.Second, "the server is checking as many passwords as it may at once")
	} else if err != nil {
		return nil, err
	}
	return func(ok bool) {
		release()
		if !ok {
			s.failures.take("addr:" + addr)
			s.failures.take(emailKey)
		}
	}, nil
}

// refuseBlocked is a 429 when key has failed authentication too often.
func (s *Server) refuseBlocked(key, what string) error {
	if wait, blocked := s.failures.blocked(key); blocked {
		return tooMany(wait, what)
	}
	return nil
}

// remoteAddr is the client's address ("ip:port") of ctx's request.
func remoteAddr(ctx context.Context) string {
	if ri := requestInfo(ctx); ri != nil {
		return ri.remote
	}
	return ""
}
