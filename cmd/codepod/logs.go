package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/pkg/sftp"
	"github.com/spf13/cobra"
)

// logPath is where the agent keeps the image command's output (the run
// directory the runner mounts, and agent.LogFileName).
const logPath = "/.codepod/run/main.log"

func newLogsCmd() *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:   "logs ID|NAME",
		Short: "Print the output of the sandbox image's own command and of its devcontainer lifecycle commands",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := dialSandbox(cmd, args[0])
			if err != nil {
				return err
			}
			defer sc.Close()
			fc, err := sftp.NewClient(sc)
			if err != nil {
				return fmt.Errorf("sftp: %w", err)
			}
			defer fc.Close()
			return copyLog(cmd, fc, follow)
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new output")
	return cmd
}

func copyLog(cmd *cobra.Command, fc *sftp.Client, follow bool) error {
	f, err := fc.Open(logPath)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, os.ErrNotExist) {
		if !follow {
			return nil // the image has no command of its own, or it printed nothing
		}
	} else if err != nil {
		return fmt.Errorf("read logs: %w", err)
	}
	var off int64
	for {
		if f != nil {
			n, err := io.Copy(cmd.OutOrStdout(), f)
			off += n
			if err != nil {
				return err
			}
		}
		if !follow {
			return nil
		}
		select {
		case <-cmd.Context().Done():
			return nil
		case <-time.After(500 * time.Millisecond):
		}
		if f == nil {
			f, _ = fc.Open(logPath)
		} else if fi, err := f.Stat(); err == nil && fi.Size() < off {
			f.Seek(0, io.SeekStart) // the agent started the file over
			off = 0
		}
	}
}
