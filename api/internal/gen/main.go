// Command gen writes the API's OpenAPI description (OpenAPI 3.0.3 YAML) to
// the file named by its argument, or to stdout:
//
//	go run ./api/internal/gen openapi.yaml
package main

import (
	"fmt"
	"os"

	"github.com/codepod-dev/codepod/api"
)

func main() {
	spec, err := api.SpecYAML()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if len(os.Args) < 2 || os.Args[1] == "-" {
		os.Stdout.Write(spec)
		return
	}
	if err := os.WriteFile(os.Args[1], spec, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
