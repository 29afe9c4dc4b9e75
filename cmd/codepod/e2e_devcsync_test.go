package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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

	// Without --delete (as rsync): nothing is deleted.
	c.must("sandbox", "sync", id, project)
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
}
