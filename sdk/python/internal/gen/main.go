// Command gen writes the Python SDK's models and operation table
// (sdk/python/src/codepod/_generated.py) from the committed openapi.yaml:
//
//	go run ./sdk/python/internal/gen            # from the repository root
//
// Every schema under components becomes a dataclass with from_dict and
// to_dict, every enum a Literal alias, and every operation an entry of
// OPERATIONS keyed by its operationId. A test fails when the committed file
// differs from what this program writes.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	spec := flag.String("spec", "openapi.yaml", "the OpenAPI document")
	out := flag.String("o", "sdk/python/src/codepod/_generated.py", "the Python file to write")
	flag.Parse()
	if err := run(*spec, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(specPath, outPath string) error {
	src, err := os.ReadFile(specPath)
	if err != nil {
		return err
	}
	code, err := Generate(src)
	if err != nil {
		return err
	}
	return os.WriteFile(outPath, code, 0o644)
}
