//go:build !unix

package images

// lockDir is a no-op where debootstrap cannot run anyway.
func lockDir(string) (func(), error) { return func() {}, nil }
