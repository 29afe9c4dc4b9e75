package docker

import (
	"slices"
	"sync"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
)

// argvTTL is how long the command line read by EnsureImage's inspect is
// reused by the create that follows it, saving that create a second
// inspect of the same image. It is short so that a re-tagged image is
// seen again at once by the next create.
const argvTTL = 5 * time.Second

type argvEntry struct {
	argv []string
	at   time.Time
}

// argvCache holds the image command lines of recent inspects, by ref.
type argvCache struct {
	mu sync.Mutex
	m  map[string]argvEntry
}

func (b *Backend) rememberArgv(ref string, cfg *dockerspec.DockerOCIImageConfig) {
	var argv []string
	if cfg != nil {
		argv = slices.Concat(cfg.Entrypoint, cfg.Cmd)
	}
	b.argv.mu.Lock()
	defer b.argv.mu.Unlock()
	if b.argv.m == nil || len(b.argv.m) > 256 {
		b.argv.m = map[string]argvEntry{}
	}
	b.argv.m[ref] = argvEntry{argv: argv, at: time.Now()}
}

func (b *Backend) recentArgv(ref string) ([]string, bool) {
	b.argv.mu.Lock()
	defer b.argv.mu.Unlock()
	e, ok := b.argv.m[ref]
	if !ok || time.Since(e.at) > argvTTL {
		return nil, false
	}
	return slices.Clone(e.argv), true
}
