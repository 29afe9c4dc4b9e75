package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
)

// clientConfig is the CLI's settings file, ~/.config/codepod/config.json.
// The environment (CODEPOD_SERVER_URL, CODEPOD_API_KEY) beats the file.
type clientConfig map[string]string

// configKeys are the settings `codepod config` knows, with their variables.
var configKeys = map[string]string{
	"SERVER_URL": "CODEPOD_SERVER_URL",
	"API_KEY":    "CODEPOD_API_KEY",
	"WORKSPACE":  "CODEPOD_WORKSPACE", // sent as the Codepod-Workspace header
}

const defaultServerURL = "http://localhost:3000"

func configPath() (string, error) {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the config directory: %w", err)
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "codepod", "config.json"), nil
}

func loadConfig() (clientConfig, error) {
	p, err := configPath()
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return clientConfig{}, nil
	}
	if err != nil {
		return nil, err
	}
	c := clientConfig{}
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s is not valid JSON: %w", p, err)
	}
	return c, nil
}

func (c clientConfig) save() error {
	p, err := configPath()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(c, "", "  ")
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// get returns a setting and where it came from: the environment beats the file.
func (c clientConfig) get(key string) (value, source string) {
	if v := os.Getenv(configKeys[key]); v != "" {
		return v, "$" + configKeys[key]
	}
	if v, ok := c[key]; ok {
		return v, "config file"
	}
	if key == "SERVER_URL" {
		return defaultServerURL, "default"
	}
	return "", ""
}

func checkKey(key string) (string, error) {
	k := strings.ToUpper(key)
	if _, ok := configKeys[k]; !ok {
		return "", fmt.Errorf("unknown setting %q: use SERVER_URL, API_KEY or WORKSPACE", key)
	}
	return k, nil
}

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Read and write the CLI's settings (SERVER_URL, API_KEY)"}
	cmd.AddCommand(&cobra.Command{
		Use: "set KEY VALUE", Short: "Store a setting in ~/.config/codepod/config.json", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := checkKey(args[0])
			if err != nil {
				return err
			}
			c, err := loadConfig()
			if err != nil {
				return err
			}
			c[k] = args[1]
			return c.save()
		},
	}, &cobra.Command{
		Use: "get KEY", Short: "Print a setting (the environment beats the file)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := checkKey(args[0])
			if err != nil {
				return err
			}
			c, err := loadConfig()
			if err != nil {
				return err
			}
			v, _ := c.get(k)
			fmt.Fprintln(cmd.OutOrStdout(), v)
			return nil
		},
	}, &cobra.Command{
		Use: "list", Short: "Print every setting and where it comes from", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadConfig()
			if err != nil {
				return err
			}
			keys := make([]string, 0, len(configKeys))
			for k := range configKeys {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				v, src := c.get(k)
				if k == "API_KEY" && len(v) > 12 {
					v = v[:12] + "…"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s=%s\t(%s)\n", k, v, src)
			}
			return nil
		},
	})
	return cmd
}
