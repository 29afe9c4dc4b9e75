package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

// envFloat is envString for numbers.
func envFloat(fs *pflag.FlagSet, p *float64, name, env string, def float64, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			def = f
		} else {
			badEnv = append(badEnv, fmt.Errorf("$%s=%q: not a number", env, v))
		}
	}
	fs.Float64Var(p, name, def, fmt.Sprintf("%s [$%s]", usage, env))
}

// envInt is envString for integers.
func envInt(fs *pflag.FlagSet, p *int, name, env string, def int, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		if n, err := strconv.Atoi(v); err == nil {
			def = n
		} else {
			badEnv = append(badEnv, fmt.Errorf("$%s=%q: not a whole number", env, v))
		}
	}
	fs.IntVar(p, name, def, fmt.Sprintf("%s [$%s]", usage, env))
}

// envList registers a repeatable flag whose default is the comma-separated
// list in env.
func envList(fs *pflag.FlagSet, p *[]string, name, env, usage string) {
	var def []string
	if v := os.Getenv(env); v != "" {
		def = strings.Split(v, ",")
	}
	fs.StringArrayVar(p, name, def, fmt.Sprintf("%s [$%s, comma-separated]", usage, env))
}

// badEnv collects malformed environment values; commands report them.
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
