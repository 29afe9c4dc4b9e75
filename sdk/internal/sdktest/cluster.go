package sdktest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Cluster is a running server with one runner.
type Cluster struct {
	URL      string // e.g. http://127.0.0.1:40123
	AdminKey string // the admin's API key
	dir      string
	runnerID string
	procs    []*proc
}

// Start builds the binaries, makes sure codepod/tiny:latest exists and
// starts a server and a runner, and waits until the runner is online. The
// caller must Close the cluster.
func Start(ctx context.Context) (*Cluster, error) {
	bin, err := Binaries()
	if err != nil {
		return nil, err
	}
	codepod := filepath.Join(bin, "codepod")
	if err := TinyImage(codepod); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "codepod-sdktest-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir}
	if err := c.start(ctx, bin); err != nil {
		logs := c.Logs()
		c.Close()
		return nil, fmt.Errorf("%w\n%s", err, logs)
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context, bin string) error {
	codepod := filepath.Join(bin, "codepod")
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	c.URL = "http://" + addr
	dataDir := filepath.Join(c.dir, "server")
	srv, err := startProc("server", codepod, []string{"DATABASE_URL="}, "server", "--addr", addr, "--data-dir", dataDir)
	if err != nil {
		return err
	}
	c.procs = append(c.procs, srv)
	if err := c.waitHealthy(ctx, srv); err != nil {
		return err
	}
	key, err := os.ReadFile(filepath.Join(dataDir, "admin-api-key"))
	if err != nil {
		return fmt.Errorf("read the admin key: %w", err)
	}
	c.AdminKey = strings.TrimSpace(string(key))
	token, err := c.runnerToken(ctx)
	if err != nil {
		return err
	}
	run, err := startProc("runner", codepod, nil, "runner", "--server", c.URL, "--token", token,
		"--state-dir", filepath.Join(c.dir, "runner"), "--name", "sdktest",
		"--agent-binary", filepath.Join(bin, "codepod-agent"), "--reconcile-interval", "2s")
	if err != nil {
		return err
	}
	c.procs = append(c.procs, run)
	c.runnerID, err = c.waitRunner(ctx, run)
	return err
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Logs is the output of the cluster's processes.
func (c *Cluster) Logs() string {
	var b strings.Builder
	for _, p := range c.procs {
		fmt.Fprintf(&b, "--- %s output ---\n%s\n", p.name, p.output())
	}
	return b.String()
}

// Close deletes every sandbox left behind, stops the runner and the server,
// removes any container the runner still has, and removes the cluster's
// files. It returns an error naming the sandboxes that were left behind.
func (c *Cluster) Close() error {
	var leftovers error
	if c.AdminKey != "" && len(c.procs) == 2 && !c.procs[0].exited() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		leftovers = c.deleteAll(ctx)
		cancel()
	}
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].stop()
	}
	if c.runnerID != "" {
		removeContainers(c.runnerID)
	}
	os.RemoveAll(c.dir)
	return leftovers
}

// removeContainers force-removes the containers a runner made.
func removeContainers(runnerID string) {
	out, err := exec.Command("docker", "ps", "-aq", "--filter", "label=dev.codepod.runner="+runnerID).Output()
	if err != nil {
		return
	}
	if ids := strings.Fields(string(out)); len(ids) > 0 {
		exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
	}
}

var errServerExited = errors.New("the server exited")
