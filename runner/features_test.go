package runner_test

import (
	"strings"
	"testing"

	"github.com/codepod-dev/codepod/runner"
	"github.com/codepod-dev/codepod/wire"
)

// TestFeaturesDockerfile: features install in order, each with its
// options quoted for sh, its containerEnv as one ENV keeping ${VAR}
// references, and the image's user restored at the end.
func TestFeaturesDockerfile(t *testing.T) {
	got := runner.FeaturesDockerfile("codepod-build:x-base", "dev", []wire.FeaturePayload{
		{ID: "./a", Dir: ".codepod-features/0", Env: map[string]string{"VERSION": "1.2", "MSG": "it's"}},
		{ID: "./b", Dir: ".codepod-features/1", ContainerEnv: map[string]string{"PATH": "/opt/b:${PATH}", "Q": `say "hi"`}},
	})
	want := `FROM codepod-build:x-base
USER root
# feature ./a
COPY [".codepod-features/0/", "/tmp/codepod-features/0/"]
RUN cd /tmp/codepod-features/0 && chmod +x install.sh && env MSG='it'\''s' VERSION='1.2' ./install.sh && cd / && rm -rf /tmp/codepod-features/0
# feature ./b
COPY [".codepod-features/1/", "/tmp/codepod-features/1/"]
RUN cd /tmp/codepod-features/1 && chmod +x install.sh && env  ./install.sh && cd / && rm -rf /tmp/codepod-features/1
ENV PATH="/opt/b:${PATH}" Q="say \"hi\""
USER dev
`
	if got != want {
		t.Fatalf("Dockerfile:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(runner.FeaturesDockerfile("img", "", nil), "USER dev") {
		t.Error("no user to restore, yet a USER line")
	}
}
