package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"
)

// envString registers a string flag whose default comes from env when set,
// and whose help names the variable.
func envString(fs *pflag.FlagSet, p *string, name, env, def, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		def = v
	}
	fs.StringVar(p, name, def, fmt.Sprintf("%s [$%s]", usage, env))
}

// envDuration is envString for durations. A malformed value in the
// environment is reported when the command runs (see checkEnvDurations).
func envDuration(fs *pflag.FlagSet, p *time.Duration, name, env string, def time.Duration, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		if d, err := time.ParseDuration(v); err == nil {
			def = d
		} else {
			badEnv = append(badEnv, fmt.Errorf("$%s=%q: %w", env, v, err))
		}
	}
	fs.DurationVar(p, name, def, fmt.Sprintf("%s [$%s]", usage, env))
}

var badEnv []error

// defaultDataDir is $XDG_DATA_HOME/codepod, or ~/.local/share/codepod.
func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "codepod")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".codepod"
	}
	return filepath.Join(home, ".local", "share", "codepod")
}
