package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDevcontainerWorkspace: the project copied into workspaceFolder
// belongs to remoteUser (not the image's USER, root here), and
// `sandbox sync --delete` removes what was deleted locally, keeps what
// .gitignore lists with --skip-gitignored, and removes a symbolic link
// the sandbox made in the workspace as a link: what it points to, outside
// the folder, stays.
func TestDevcontainerWorkspace(t *testing.T) {
	c := newCluster(t)
	c.startRunner("dc", t.TempDir())
	project := writeTree(t, filepath.Join(t.TempDir(), "proj"), map[string]string{
		".devcontainer/devcontainer.json": `{"image": "codepod/tiny:latest", "remoteUser": "nobody", "workspaceFolder": "/workspaces/proj"}`,
		".gitignore":                      "node_modules/\n",
		"app.txt":                         "version 1",
		"old.txt":                         "deleted locally later",
		"src/lib/util.go":                 "package lib",
		"src/gone/x.go":                   "package gone",
	})
	id := c.must("sandbox", "create", "ws", "--devcontainer", project, "--wait")
	sh := func(script string) string { return c.must("sandbox", "exec", id, "--", "sh", "-c", script) }

	// Owned by remoteUser: the folder made for it and everything in it.
	if got := sh(`cd /workspaces/proj && stat -c '%U %n' . app.txt src src/lib/util.go .devcontainer/devcontainer.json`); got !=
		"nobody .\nnobody app.txt\nnobody src\nnobody src/lib/util.go\nnobody .devcontainer/devcontainer.json" {
		t.Fatalf("owners in the workspace:\n%s", got)
	}

	// What the sandbox made: a dependency folder .gitignore lists, a
	// stray file, and links out of the workspace.
	sh(`mkdir -p /tmp/outside /workspaces/proj/node_modules/dep && echo keep > /tmp/outside/keep && echo dep > /workspaces/proj/node_modules/dep/index.js &&
	    echo stray > /workspaces/proj/stray.txt && ln -s /tmp/outside /workspaces/proj/escape && ln -s /tmp/outside/keep /workspaces/proj/src/lib/keep.go`)
	os.Remove(filepath.Join(project, "old.txt"))
	os.RemoveAll(filepath.Join(project, "src", "gone"))
	os.WriteFile(filepath.Join(project, "app.txt"), []byte("version 2"), 0o644)
	os.WriteFile(filepath.Join(project, "src", "new.go"), []byte("package src"), 0o644)

	// Without --delete (as rsync): nothing is deleted. What sync writes
	// belongs to remoteUser too.
	c.must("sandbox", "sync", id, project)
	if got := sh(`cd /workspaces/proj && stat -c '%U %n' app.txt src/new.go`); got != "nobody app.txt\nnobody src/new.go" {
		t.Fatalf("owners after sync:\n%s", got)
	}
	if got := sh(`cd /workspaces/proj && cat app.txt && echo && ls -A && ls -A src`); got !=
		"version 2\n.devcontainer\n.gitignore\napp.txt\nescape\nnode_modules\nold.txt\nsrc\nstray.txt\ngone\nlib\nnew.go" {
		t.Fatalf("after sync without --delete:\n%s", got)
	}
	_, errOut, code := c.cli("sandbox", "sync", id, project, "--delete", "--skip-gitignored")
	if code != 0 || !strings.Contains(errOut, "deleted 5 entries") {
		t.Fatalf("sync --delete: exit %d\n%s", code, errOut)
	}
	if got := sh(`cd /workspaces/proj && ls -A && ls -A src && ls -A src/lib && cat node_modules/dep/index.js /tmp/outside/keep`); got !=
		".devcontainer\n.gitignore\napp.txt\nnode_modules\nsrc\nlib\nnew.go\nutil.go\ndep\nkeep" {
		t.Fatalf("after sync --delete --skip-gitignored:\n%s", got)
	}
	// Without --skip-gitignored, what .gitignore lists is not kept.
	c.must("sandbox", "sync", id, project, "--delete")
	if got := sh(`ls -A /workspaces/proj`); got != ".devcontainer\n.gitignore\napp.txt\nsrc" {
		t.Fatalf("after sync --delete:\n%s", got)
	}
	c.must("sandbox", "delete", id)

	// shutdownAction stopContainer: exec sessions leave the sandbox
	// running; when the last terminal session closes the runner stops it,
	// saying why. (A start after a stop runs postStartCommand again:
	// TestDevcontainerInside.)
	stopper := writeTree(t, filepath.Join(t.TempDir(), "stopper"), map[string]string{
		".devcontainer.json": `{"image": "codepod/tiny:latest", "shutdownAction": "stopContainer"}`,
	})
	id = c.must("sandbox", "create", "stopper", "--devcontainer", stopper, "--wait")
	for i := 0; i < 3; i++ {
		c.must("sandbox", "exec", id, "--", "true")
	}
	if sb := c.get(id); sb.Status != "running" {
		t.Fatalf("after exec sessions: %s (%s)", sb.Status, sb.Reason)
	}
	s := newSSHSetup(t, c, "stopper")
	if r := s.ssh(t, nil, []string{"-tt"}, "echo in a terminal"); r.code != 0 || !strings.Contains(string(r.stdout), "in a terminal") {
		t.Fatalf("ssh -tt: exit %d, %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	sb := c.waitStatus(id, "stopped", 2*time.Minute)
	if !strings.Contains(sb.Reason, "shutdownAction stopContainer: the last terminal session closed") {
		t.Fatalf("stopped by shutdownAction: reason %q", sb.Reason)
	}
	waitFor(t, "the container stopped", func() bool {
		out, err := exec.Command("docker", "ps", "-q", "--filter", "label=dev.codepod.sandbox="+id).Output()
		return err == nil && len(strings.TrimSpace(string(out))) == 0
	})
	c.must("sandbox", "delete", id)
}
