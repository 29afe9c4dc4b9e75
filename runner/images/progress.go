package images

import (
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
)

// debootstrapSteps are the stages of a debootstrap run as its "I:" lines
// show them, in order.
const debootstrapSteps = 6

// debootstrapProgress turns debootstrap's "I:" lines into progress
// messages: the step (of debootstrapSteps) and, where debootstrap names
// packages one by one, how many so far (of how many, once known).
type debootstrapProgress struct {
	step       int
	downloaded int // packages retrieved
	extracted  int
	unpacked   int // dpkg's "Unpacking X" lines (debootstrap.log)
	setUp      int // dpkg's "Setting up X" lines
	phase      string
	last       string
}

// dpkgLine takes one line of debootstrap.log (dpkg's output during the
// unpacking and configuring steps) and returns the progress message it
// leads to, "" when it does not change it.
func (p *debootstrapProgress) dpkgLine(s string) string {
	if p.step < 5 {
		return ""
	}
	switch {
	case strings.HasPrefix(s, "Unpacking "):
		p.unpacked++
	case strings.HasPrefix(s, "Setting up "):
		p.setUp++
	default:
		return ""
	}
	msg := fmt.Sprintf("debootstrap step %d/%d: %s (dpkg: %d unpacked, %d set up, of %d packages)",
		p.step, debootstrapSteps, p.phase, p.unpacked, p.setUp, p.downloaded)
	if msg == p.last {
		return ""
	}
	p.last = msg
	return msg
}

// line takes one line of debootstrap's output and returns the progress
// message it leads to, "" when it does not change it.
func (p *debootstrapProgress) line(s string) string {
	info, ok := strings.CutPrefix(strings.TrimSpace(s), "I: ")
	if !ok {
		return ""
	}
	var msg string
	switch {
	case strings.HasPrefix(info, "Retrieving InRelease"), strings.HasPrefix(info, "Retrieving Release"),
		strings.HasPrefix(info, "Checking Release signature"), strings.HasPrefix(info, "Retrieving Packages"):
		msg = p.at(1, "fetching the package lists")
	case strings.HasPrefix(info, "Resolving dependencies"), strings.HasPrefix(info, "Checking component"),
		strings.HasPrefix(info, "Found additional"):
		msg = p.at(2, "resolving dependencies")
	case strings.HasPrefix(info, "Retrieving ") && len(strings.Fields(info)) == 3: // Retrieving PKG VERSION
		p.downloaded++
		msg = p.at(3, fmt.Sprintf("downloading packages (%d so far: %s)", p.downloaded, strings.Fields(info)[1]))
	case strings.HasPrefix(info, "Extracting "):
		p.extracted++
		// Only the required packages are extracted here, a part of those
		// downloaded whose size debootstrap does not say: no percent.
		msg = p.at(4, fmt.Sprintf("extracting the required packages (%d so far, of %d downloaded)", p.extracted, p.downloaded))
	case strings.HasPrefix(info, "Installing core packages"):
		msg = p.at(5, "installing the core packages")
	case strings.HasPrefix(info, "Unpacking required packages"):
		msg = p.at(5, "unpacking the required packages")
	case strings.HasPrefix(info, "Configuring required packages"):
		msg = p.at(5, "configuring the required packages")
	case strings.HasPrefix(info, "Unpacking the base system"):
		msg = p.at(6, "unpacking the base system")
	case strings.HasPrefix(info, "Configuring the base system"):
		msg = p.at(6, "configuring the base system")
	case strings.HasPrefix(info, "Base system installed successfully"):
		msg = p.at(6, "base system installed")
	}
	if msg == "" || msg == p.last {
		return ""
	}
	p.last = msg
	return msg
}

func (p *debootstrapProgress) at(step int, what string) string {
	p.step = max(p.step, step)
	p.phase = what
	return fmt.Sprintf("debootstrap step %d/%d: %s", p.step, debootstrapSteps, what)
}

func percent(n, total int64) int64 {
	if total <= 0 {
		return 0
	}
	return min(100, n*100/total)
}

// treeSize is the total size of the regular files below dir, what a tar of
// it streams give or take its headers.
func treeSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// countingReader reports how far a stream of an expected size has got, at
// each further tenth of it.
type countingReader struct {
	r      io.Reader
	n      int64
	total  int64
	tenth  int64
	report func(n, total int64)
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	if t := percent(c.n, c.total) / 10; t > c.tenth {
		c.tenth = t
		c.report(c.n, c.total)
	}
	return n, err
}
