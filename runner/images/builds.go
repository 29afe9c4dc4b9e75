package images

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// Builds tracks the images being built in this process, so that a runner
// beside the build (codepod up) holds a create for such an image, showing
// the build's progress as the sandbox's reason, instead of trying to pull
// it. The zero value is ready to use.
type Builds struct {
	mu sync.Mutex
	m  map[string]*build
}

type build struct {
	done    chan struct{}
	err     error
	msg     string
	changed chan struct{} // closed and replaced at each new message
}

// Begin records that ref is being built. report sets the build's latest
// progress message; end marks it finished (err nil: the image is there).
// Call Begin before anything may ask for ref, then build.
func (b *Builds) Begin(ref string) (report func(string), end func(error)) {
	ref = NormalizeRef(ref)
	bd := &build{done: make(chan struct{}), changed: make(chan struct{})}
	b.mu.Lock()
	if b.m == nil {
		b.m = map[string]*build{}
	}
	b.m[ref] = bd
	b.mu.Unlock()
	report = func(msg string) {
		b.mu.Lock()
		defer b.mu.Unlock()
		if msg != bd.msg {
			bd.msg = msg
			close(bd.changed)
			bd.changed = make(chan struct{})
		}
	}
	var once sync.Once
	end = func(err error) {
		once.Do(func() {
			b.mu.Lock()
			bd.err = err
			if b.m[ref] == bd {
				delete(b.m, ref)
			}
			b.mu.Unlock()
			close(bd.done)
		})
	}
	return report, end
}

// Building reports whether ref is being built now.
func (b *Builds) Building(ref string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.m[NormalizeRef(ref)]
	return ok
}

// Wait blocks while ref is being built, handing "building REF (…)" messages
// to progress, and returns the build's error; it returns (false, nil) at
// once when ref is not being built.
func (b *Builds) Wait(ctx context.Context, ref string, progress func(string)) (waited bool, err error) {
	ref = NormalizeRef(ref)
	b.mu.Lock()
	bd := b.m[ref]
	b.mu.Unlock()
	if bd == nil {
		return false, nil
	}
	name := strings.TrimSuffix(ref, ":latest")
	for {
		b.mu.Lock()
		msg, changed := bd.msg, bd.changed
		b.mu.Unlock()
		if msg == "" {
			progress("building " + name + " on this runner; the sandbox is created when it is there")
		} else {
			progress("building " + name + " on this runner: " + msg)
		}
		select {
		case <-ctx.Done():
			return true, ctx.Err()
		case <-bd.done:
			if bd.err != nil {
				return true, fmt.Errorf("the image %s was being built on this runner and its build failed: %w", ref, bd.err)
			}
			return true, nil
		case <-changed:
		}
	}
}

// NormalizeRef adds ":latest" to a reference without a tag or digest.
func NormalizeRef(ref string) string {
	last := ref[strings.LastIndex(ref, "/")+1:]
	if strings.Contains(last, ":") || strings.Contains(ref, "@") {
		return ref
	}
	return ref + ":latest"
}
