package metrics

import (
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// BuildInfo is what a binary knows about its own build: the answer to
// "which version is running?". reglock version prints it and every
// process exports it as reglock_build_info.
type BuildInfo struct {
	// Version is the release version given at link time
	// (-ldflags "-X main.version=v1.2.3"), else the main module's version
	// as the go command stamped it (a pseudo-version when built from a
	// VCS checkout), else "devel".
	Version string
	// Revision is the VCS commit: vcs.revision from the Go build info,
	// else the one given at link time (-X main.commit=...); "unknown"
	// when neither is there (a build without .git, e.g. in Docker).
	Revision string
	// CommitTime is the revision's commit time (vcs.time), else the one
	// given at link time (-X main.commitTime=...); "" when unknown. It is
	// the commit's, not the build's, so that builds are reproducible.
	CommitTime string
	// Modified says the working tree had uncommitted changes (vcs.modified).
	Modified  bool
	GoVersion string
	Platform  string // GOOS/GOARCH
}

var (
	linkedMu sync.Mutex
	linked   BuildInfo
)

// SetLinkedBuild records the values the linker was given (cmd/reglock's
// main.version, main.commit, main.commitTime). Empty ones fall back to the
// Go build info. Call it before New.
func SetLinkedBuild(version, revision, commitTime string) {
	linkedMu.Lock()
	defer linkedMu.Unlock()
	linked = BuildInfo{Version: version, Revision: revision, CommitTime: commitTime}
}

// Build returns this binary's build information.
func Build() BuildInfo {
	linkedMu.Lock()
	l := linked
	linkedMu.Unlock()
	bi, _ := debug.ReadBuildInfo()
	return readBuild(l, bi)
}

// readBuild merges the linked values with the Go build info (nil when the
// binary has none).
func readBuild(l BuildInfo, bi *debug.BuildInfo) BuildInfo {
	b := BuildInfo{GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	var revision, vcsTime string
	if bi != nil {
		if bi.GoVersion != "" {
			b.GoVersion = bi.GoVersion
		}
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			b.Version = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.time":
				vcsTime = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	// An explicit release version wins over the module's; the VCS's own
	// revision and time win over values passed by hand.
	if l.Version != "" {
		b.Version = l.Version
	}
	if b.Version == "" {
		b.Version = "devel"
	}
	b.Revision = first(revision, l.Revision, "unknown")
	b.CommitTime = first(vcsTime, l.CommitTime)
	return b
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// newBuildInfoGauge is reglock_build_info{version,revision,goversion} 1.
func newBuildInfoGauge(b BuildInfo) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "reglock_build_info",
		Help: "Always 1; the labels say which build of reglock this process runs (version, VCS revision, Go version).",
		ConstLabels: prometheus.Labels{
			"version":   b.Version,
			"revision":  b.Revision,
			"goversion": b.GoVersion,
		},
	})
	g.Set(1)
	return g
}
