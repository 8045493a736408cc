package metrics

import (
	"runtime"
	"runtime/debug"
	"slices"
	"testing"
)

func TestReadBuild(t *testing.T) {
	vcs := &debug.BuildInfo{
		GoVersion: "go1.99.1",
		Main:      debug.Module{Path: "github.com/reglock/reglock", Version: "v0.0.0-20260102150405-0123456789ab+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-01-02T15:04:05Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	noVCS := &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Path: "github.com/reglock/reglock", Version: "(devel)"}}
	platform := runtime.GOOS + "/" + runtime.GOARCH
	for _, c := range []struct {
		name   string
		linked BuildInfo
		bi     *debug.BuildInfo
		want   BuildInfo
	}{
		{"no build info at all", BuildInfo{}, nil,
			BuildInfo{Version: "devel", Revision: "unknown", GoVersion: runtime.Version(), Platform: platform}},
		{"go build without VCS (Docker: no .git)", BuildInfo{}, noVCS,
			BuildInfo{Version: "devel", Revision: "unknown", GoVersion: "go1.99.1", Platform: platform}},
		{"go build in a checkout", BuildInfo{}, vcs,
			BuildInfo{Version: "v0.0.0-20260102150405-0123456789ab+dirty", Revision: "0123456789abcdef0123456789abcdef01234567",
				CommitTime: "2026-01-02T15:04:05Z", Modified: true, GoVersion: "go1.99.1", Platform: platform}},
		{"release version by ldflags wins over the module's", BuildInfo{Version: "v1.2.3", Revision: "feedface", CommitTime: "2026-02-03T00:00:00Z"}, vcs,
			BuildInfo{Version: "v1.2.3", Revision: "0123456789abcdef0123456789abcdef01234567",
				CommitTime: "2026-01-02T15:04:05Z", Modified: true, GoVersion: "go1.99.1", Platform: platform}},
		{"ldflags fill in what the VCS could not", BuildInfo{Version: "v1.2.3", Revision: "feedface", CommitTime: "2026-02-03T00:00:00Z"}, noVCS,
			BuildInfo{Version: "v1.2.3", Revision: "feedface", CommitTime: "2026-02-03T00:00:00Z", GoVersion: "go1.99.1", Platform: platform}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := readBuild(c.linked, c.bi); got != c.want {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// Every process exports reglock_build_info{version,revision,goversion} 1.
func TestBuildInfoMetric(t *testing.T) {
	SetLinkedBuild("v9.8.7-test", "", "")
	t.Cleanup(func() { SetLinkedBuild("", "", "") })
	b := Build()
	if b.Version != "v9.8.7-test" {
		t.Fatalf("Build().Version = %q after SetLinkedBuild", b.Version)
	}
	got := scrape(t, New(), "reglock_build_info")
	want := []string{"reglock_build_info{goversion=" + runtime.Version() + ",revision=" + b.Revision + ",version=v9.8.7-test} 1"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
