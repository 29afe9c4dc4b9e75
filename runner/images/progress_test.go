package images

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// A debootstrap run's "I:" lines, cut short, as debootstrap 1.0.128 prints them.
const debootstrapTranscript = `I: Retrieving InRelease 
I: Checking Release signature
I: Valid Release signature (key id 4D64FEC119C2029067D6E791F8D2585B8783D481)
I: Retrieving Packages 
I: Validating Packages 
I: Resolving dependencies of required packages...
I: Resolving dependencies of base packages...
I: Checking component main on http://deb.debian.org/debian...
I: Retrieving adduser 3.134
I: Validating adduser 3.134
I: Retrieving apt 2.6.1
I: Validating apt 2.6.1
I: Chosen extractor for .deb packages: dpkg-deb
I: Extracting adduser...
I: Extracting apt...
I: Installing core packages...
I: Unpacking required packages...
I: Configuring required packages...
I: Unpacking the base system...
I: Configuring the base system...
I: Base system installed successfully.
`

func TestDebootstrapProgress(t *testing.T) {
	var p debootstrapProgress
	var got []string
	for _, l := range strings.Split(debootstrapTranscript, "\n") {
		if msg := p.line(l); msg != "" {
			got = append(got, msg)
		}
	}
	want := []string{
		"debootstrap step 1/6: fetching the package lists",
		"debootstrap step 2/6: resolving dependencies",
		"debootstrap step 3/6: downloading packages (1 so far: adduser)",
		"debootstrap step 3/6: downloading packages (2 so far: apt)",
		"debootstrap step 4/6: extracting the required packages (1 so far, of 2 downloaded)",
		"debootstrap step 4/6: extracting the required packages (2 so far, of 2 downloaded)",
		"debootstrap step 5/6: installing the core packages",
		"debootstrap step 5/6: unpacking the required packages",
		"debootstrap step 5/6: configuring the required packages",
		"debootstrap step 6/6: unpacking the base system",
		"debootstrap step 6/6: configuring the base system",
		"debootstrap step 6/6: base system installed",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("progress:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDebootstrapProgressCountsDpkgLines(t *testing.T) {
	var p debootstrapProgress
	if msg := p.dpkgLine("Unpacking libc6 (2.36-9) ..."); msg != "" {
		t.Errorf("dpkg line before step 5 gave %q", msg)
	}
	for _, l := range strings.Split(debootstrapTranscript, "\n")[:17] { // up to "Unpacking required packages..."
		p.line(l)
	}
	got := []string{p.dpkgLine("Unpacking libc6 (2.36-9) ..."), p.dpkgLine("Selecting previously unselected package x."), p.dpkgLine("Setting up libc6 (2.36-9) ...")}
	want := []string{
		"debootstrap step 5/6: unpacking the required packages (dpkg: 1 unpacked, 0 set up, of 2 packages)",
		"",
		"debootstrap step 5/6: unpacking the required packages (dpkg: 1 unpacked, 1 set up, of 2 packages)",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("dpkg progress %q, want %q", got, want)
	}
}

func TestCountingReaderReportsEachTenth(t *testing.T) {
	var got []int64
	c := &countingReader{r: bytes.NewReader(make([]byte, 1000)), total: 1000, report: func(n, _ int64) { got = append(got, n) }}
	buf := make([]byte, 50)
	for {
		if _, err := c.Read(buf); err != nil {
			break
		}
	}
	if len(got) != 10 || got[9] != 1000 {
		t.Errorf("reports at %v, want ten, the last at 1000", got)
	}
}

func TestBuildsWaitFollowsTheBuild(t *testing.T) {
	var b Builds
	if waited, err := b.Wait(context.Background(), "codepod/base", func(string) {}); waited || err != nil {
		t.Fatalf("Wait on nothing being built = %v, %v", waited, err)
	}
	report, end := b.Begin("codepod/base:latest")
	if !b.Building("codepod/base") {
		t.Fatal("Building(codepod/base) = false during a build of codepod/base:latest")
	}
	msgs := make(chan string, 10)
	done := make(chan error, 1)
	go func() {
		_, err := b.Wait(context.Background(), "codepod/base", func(m string) { msgs <- m })
		done <- err
	}()
	if m := <-msgs; !strings.HasPrefix(m, "building codepod/base on this runner") {
		t.Errorf("first message %q", m)
	}
	report("debootstrap step 3/6: downloading packages")
	if m := <-msgs; m != "building codepod/base on this runner: debootstrap step 3/6: downloading packages" {
		t.Errorf("progress message %q", m)
	}
	end(errors.New("debootstrap failed"))
	if err := <-done; err == nil || !strings.Contains(err.Error(), "debootstrap failed") {
		t.Errorf("Wait after a failed build = %v", err)
	}
	if b.Building("codepod/base") {
		t.Error("still building after end")
	}
	// A second build that succeeds.
	_, end = b.Begin("codepod/base")
	go func() { _, err := b.Wait(context.Background(), "codepod/base:latest", func(string) {}); done <- err }()
	end(nil)
	if err := <-done; err != nil {
		t.Errorf("Wait after a build that succeeded = %v", err)
	}
}
