package gateway

import (
	"container/heap"
	"context"
	"errors"
	"io"
	"os"
	"path"
	"sort"

	"github.com/codepod-dev/codepod"
	"golang.org/x/crypto/ssh"
)

// Limits of a directory listing page.
const (
	DefaultListLimit = 1000
	MaxListLimit     = 10000
)

// ListPage returns, sorted by name, the first limit entries of directory p
// whose names sort after `after` ("" for the first page), and whether more
// follow. The next page starts after the last name returned.
//
// The directory is read in the agent's batches and only the limit+1
// smallest names are kept, so a page costs O(limit) memory whatever the
// directory holds; each page reads the whole directory (O(n log limit)), so
// a directory of n entries costs n/limit reads in all. Pages are stable
// under concurrent changes: every name present throughout is seen exactly
// once, in order.
func ListPage(ctx context.Context, c *ssh.Client, p, after string, limit int) (entries []FileEntry, more bool, err error) {
	if limit <= 0 || limit > MaxListLimit {
		return nil, false, codepod.Errorf(codepod.EINVALID, "limit %d must be between 1 and %d", limit, MaxListLimit)
	}
	sc, err := open(ctx, c, p)
	if err != nil {
		return nil, false, err
	}
	abs, err := absPath(sc, p)
	if err != nil {
		return nil, false, err
	}
	d, err := openDir(ctx, c, p)
	if err != nil {
		if fi, serr := sc.Stat(p); serr == nil && !fi.IsDir() {
			return nil, false, codepod.Errorf(codepod.EINVALID, "%s is not a directory", p)
		}
		return nil, false, fileError("list", p, err)
	}
	defer d.Close()
	h := &nameHeap{}
	for {
		batch, err := d.next(ctx)
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, false, fileError("list", p, err)
		}
		for _, e := range batch {
			if e.name <= after {
				continue
			}
			if h.Len() <= limit {
				heap.Push(h, e)
			} else if e.name < (*h)[0].name {
				(*h)[0] = e
				heap.Fix(h, 0)
			}
		}
	}
	kept := []dirEntry(*h)
	sort.Slice(kept, func(i, j int) bool { return kept[i].name < kept[j].name })
	if more = len(kept) > limit; more {
		kept = kept[:limit]
	}
	entries = make([]FileEntry, 0, len(kept))
	for _, e := range kept {
		entries = append(entries, entryOfDirent(abs, e))
	}
	return entries, more, nil
}

func entryOfDirent(dir string, e dirEntry) FileEntry {
	fe := FileEntry{Name: e.name, Path: path.Join(dir, e.name), Size: e.size, Mode: e.mode, ModTime: e.modTime, Type: TypeOther}
	switch m := e.mode; {
	case m.IsRegular():
		fe.Type = TypeFile
	case m.IsDir():
		fe.Type = TypeDir
	case m&os.ModeSymlink != 0:
		fe.Type = TypeSymlink
	}
	return fe
}

// nameHeap is a max-heap of entries by name: its top is the largest name
// kept, the first to go when a smaller one comes.
type nameHeap []dirEntry

func (h nameHeap) Len() int           { return len(h) }
func (h nameHeap) Less(i, j int) bool { return h[i].name > h[j].name }
func (h nameHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *nameHeap) Push(x any)        { *h = append(*h, x.(dirEntry)) }
func (h *nameHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
