package sdktest

import "github.com/codepod-dev/codepod/internal/testenv"

// Binaries builds codepod and codepod-agent (static, CGO_ENABLED=0) once
// per test binary and returns the directory that holds them.
func Binaries() (string, error) { return testenv.Binaries() }

// TinyImage makes sure codepod/tiny:latest exists, building it with
// `codepod image build tiny` when it does not.
func TinyImage(codepodBin string) error { return testenv.TinyImage(codepodBin) }

// BaseImage makes sure codepod/base:latest exists, building it with
// `codepod image build base` when it does not (minutes).
func BaseImage(codepodBin string) error { return testenv.BaseImage(codepodBin) }
