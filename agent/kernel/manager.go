package kernel

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"sync"
	"syscall"
	"time"
)

// Manager holds a sandbox's code contexts.
type Manager struct {
	mu       sync.Mutex
	contexts map[string]*Context
}

// NewManager returns an empty Manager.
func NewManager() *Manager { return &Manager{contexts: map[string]*Context{}} }

// Context is one persistent interpreter.
type Context struct {
	id, lang string
	created  time.Time
	launch   Launch
	busy     chan struct{} // one cell at a time

	mu       sync.Mutex // guards the fields below
	k        *kernel
	lastUsed time.Time
	count    int
	deleted  bool
}

// Error is a request that failed, with one of codepod's error codes.
type Error struct{ Code, Message string }

func (e *Error) Error() string { return e.Message }

func errorf(code, format string, a ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, a...)}
}

func checkLanguage(lang string) error {
	if _, ok := interps[lang]; !ok {
		return errorf("invalid", "language %q is not one of python, javascript, bash", lang)
	}
	return nil
}

// Create starts a new context.
func (m *Manager) Create(lang string, l Launch) (Info, error) {
	if err := checkLanguage(lang); err != nil {
		return Info{}, err
	}
	var b [8]byte
	rand.Read(b[:])
	c, err := m.add("ctx_"+hex.EncodeToString(b[:]), lang, l)
	if err != nil {
		return Info{}, err
	}
	return c.info(), nil
}

// add starts a context under id and registers it.
func (m *Manager) add(id, lang string, l Launch) (*Context, error) {
	m.mu.Lock()
	if len(m.contexts) >= MaxContexts {
		m.mu.Unlock()
		return nil, errorf("conflict", "this sandbox has %d code contexts, the most it may have: delete one first", MaxContexts)
	}
	now := time.Now()
	c := &Context{id: id, lang: lang, created: now, lastUsed: now, launch: l, busy: make(chan struct{}, 1)}
	m.contexts[id] = c
	m.mu.Unlock()
	k, err := startKernel(lang, l)
	if err != nil {
		m.mu.Lock()
		delete(m.contexts, id)
		m.mu.Unlock()
		return nil, errorf("unavailable", "cannot start the %s interpreter: %v", lang, err)
	}
	c.mu.Lock()
	c.k = k
	c.mu.Unlock()
	return c, nil
}

// get finds a context; an empty id is lang's default context, made on
// first use.
func (m *Manager) get(id, lang string, l Launch) (*Context, error) {
	if id == "" {
		if err := checkLanguage(lang); err != nil {
			return nil, err
		}
		id = "default-" + lang
		m.mu.Lock()
		c := m.contexts[id]
		m.mu.Unlock()
		if c != nil {
			return c, nil
		}
		return m.add(id, lang, l)
	}
	m.mu.Lock()
	c := m.contexts[id]
	m.mu.Unlock()
	if c == nil {
		return nil, errorf("not_found", "no code context %q in this sandbox: list them, or create one", id)
	}
	if lang != "" && lang != c.lang {
		return nil, errorf("invalid", "context %s runs %s, not %s", id, c.lang, lang)
	}
	return c, nil
}

// List describes the contexts, oldest first.
func (m *Manager) List() []Info {
	m.mu.Lock()
	cs := make([]*Context, 0, len(m.contexts))
	for _, c := range m.contexts {
		cs = append(cs, c)
	}
	m.mu.Unlock()
	out := make([]Info, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}

// Delete stops a context's interpreter (interrupting a running cell) and
// forgets it.
func (m *Manager) Delete(id string) error {
	m.mu.Lock()
	c := m.contexts[id]
	delete(m.contexts, id)
	m.mu.Unlock()
	if c == nil {
		return errorf("not_found", "no code context %q in this sandbox", id)
	}
	c.mu.Lock()
	k := c.k
	c.k, c.deleted = nil, true
	c.mu.Unlock()
	if k != nil {
		k.kill()
	}
	return nil
}

// Restart replaces a context's interpreter with a fresh one (its state is
// lost; a running cell ends with Restarted set).
func (m *Manager) Restart(id string) (Info, error) {
	c, err := m.get(id, "", Launch{})
	if err != nil {
		return Info{}, err
	}
	k, err := startKernel(c.lang, c.launch)
	if err != nil {
		return Info{}, errorf("unavailable", "cannot start the %s interpreter: %v", c.lang, err)
	}
	c.mu.Lock()
	old := c.k
	c.k, c.count = k, 0
	c.mu.Unlock()
	if old != nil {
		old.kill()
	}
	return c.info(), nil
}

// Close kills every interpreter.
func (m *Manager) Close() {
	for _, info := range m.List() {
		m.Delete(info.ID)
	}
}

func (c *Context) info() Info {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Info{ID: c.id, Language: c.lang, Cwd: c.k.cwd(), Created: c.created, LastUsed: c.lastUsed, ExecutionCount: c.count}
}

// Run runs one cell. ctx ending (the client went away) interrupts it like
// the timeout does.
func (m *Manager) Run(ctx context.Context, req Request, l Launch) (*Result, error) {
	timeout := time.Duration(req.TimeoutMS) * time.Millisecond
	max := req.MaxOutputBytes
	switch {
	case len(req.Code) > MaxCode:
		return nil, errorf("too_large", "the code is %d bytes; a cell holds at most %d", len(req.Code), MaxCode)
	case timeout < 0 || timeout > MaxTimeout:
		return nil, errorf("invalid", "the timeout must be between 1 ms and %s", MaxTimeout)
	case max < 0 || max > MaxOutput:
		return nil, errorf("invalid", "max_output_bytes must be between 1 and %d", MaxOutput)
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if max == 0 {
		max = DefaultMaxOutput
	}
	c, err := m.get(req.Context, req.Language, l)
	if err != nil {
		return nil, err
	}
	select {
	case c.busy <- struct{}{}:
	case <-ctx.Done():
		return nil, errorf("timeout", "the context %s was busy with another cell until the request ended", c.id)
	}
	defer func() { <-c.busy }()
	return c.run(ctx, req.Code, timeout, max)
}

func (c *Context) run(ctx context.Context, code string, timeout time.Duration, max int) (*Result, error) {
	start := time.Now()
	res := &Result{Context: c.id, Results: []map[string]string{}}
	c.mu.Lock()
	if c.deleted {
		c.mu.Unlock()
		return nil, errorf("not_found", "the code context %s was deleted", c.id)
	}
	k := c.k
	if k == nil || isDone(k) {
		if k != nil {
			k.kill()
		}
		var err error
		if k, err = startKernel(c.lang, c.launch); err != nil {
			c.mu.Unlock()
			return nil, errorf("unavailable", "cannot start the %s interpreter: %v", c.lang, err)
		}
		c.k, c.count, res.Restarted = k, 0, true
	}
	c.count++
	res.ExecutionCount = c.count
	c.lastUsed = start
	c.mu.Unlock()

	k.reset()
	err := k.send(code, res.ExecutionCount)
	done := make(chan error, 1)
	if err == nil {
		go func() { done <- k.read(res) }()
	} else {
		done <- err
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case err = <-done:
	case <-timer.C:
		err = interrupt(k, done)
		res.Interrupted = true
	case <-ctx.Done():
		err = interrupt(k, done)
		res.Interrupted = true
	}
	k.collect(res, max)
	res.DurationMS = time.Since(start).Milliseconds()
	if err != nil {
		c.replace(k, res)
	}
	return res, nil
}

// interrupt sends SIGINT and waits InterruptGrace for the reply; then it
// gives up on the kernel (the caller replaces it).
func interrupt(k *kernel, done <-chan error) error {
	k.p.Signal(syscall.SIGINT)
	t := time.NewTimer(InterruptGrace)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		k.p.SignalGroup(syscall.SIGKILL)
		k.repF.Close()
		<-done
		return errors.New("the interpreter did not answer the interrupt")
	}
}

// replace swaps a dead or stuck kernel for a fresh one.
func (c *Context) replace(k *kernel, res *Result) {
	k.kill()
	res.Restarted = true
	if res.Error == nil {
		res.Error = &CellError{Name: "KernelDied", Value: "the interpreter died or did not answer; the context was restarted and its state is lost", Traceback: []string{}}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.k != k || c.deleted {
		return // restarted or deleted meanwhile
	}
	c.k, c.count = nil, 0 // the next cell starts a fresh kernel
}

func isDone(k *kernel) bool {
	select {
	case <-k.p.Done():
		return true
	default:
		return false
	}
}
