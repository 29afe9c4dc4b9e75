package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/codepod-dev/codepod"
)

func BenchmarkCreateSandbox(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			ctx := context.Background()
			db := openURL(b, be.url(b), nil)
			owner := newUser(b, db, "bench@example.com")
			spec := codepod.SandboxSpec{Image: codepod.TinyImage, MemoryBytes: 64 << 20, Labels: map[string]string{"bench": "yes"}}
			i := 0
			for b.Loop() {
				s := &codepod.Sandbox{Name: fmt.Sprintf("sb-%d", i), OwnerID: owner.ID, Spec: spec}
				if err := db.CreateSandbox(ctx, s); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
