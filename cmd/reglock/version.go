package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/reglock/reglock/metrics"
)

// Set at link time; empty values fall back to what the go command stamped
// into the binary (runtime/debug.ReadBuildInfo: the module version,
// vcs.revision, vcs.time, vcs.modified). A build without .git (as in
// deploy/Dockerfile) has no VCS stamp, so pass them there:
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.commit=$(git rev-parse HEAD) -X main.commitTime=$(git log -1 --format=%cI)" ./cmd/reglock
var (
	version    string
	commit     string
	commitTime string
)

// Every process exports the same as reglock_build_info; metrics.New reads it.
func init() { metrics.SetLinkedBuild(version, commit, commitTime) }

// versionText is what reglock version and reglock --version print.
func versionText(b metrics.BuildInfo) string {
	var sb strings.Builder
	writeVersion(&sb, b)
	return sb.String()
}

// writeVersion prints the build information, one field a line.
func writeVersion(w io.Writer, b metrics.BuildInfo) {
	fmt.Fprintf(w, "reglock %s\n", b.Version)
	rev := b.Revision
	if b.Modified {
		rev += " (modified)"
	}
	fmt.Fprintf(w, "  revision:    %s\n", rev)
	if b.CommitTime != "" {
		fmt.Fprintf(w, "  commit time: %s\n", b.CommitTime)
	}
	fmt.Fprintf(w, "  go:          %s\n", b.GoVersion)
	fmt.Fprintf(w, "  platform:    %s\n", b.Platform)
}

func newVersionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, VCS revision, commit time and Go version of this binary",
		Long: `Print which build of reglock this is: the release version, the VCS revision it was
built from (and whether the tree had uncommitted changes), that commit's time, and the
Go version. Running processes export the same as reglock_build_info on /metrics.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b := metrics.Build()
			if !asJSON {
				writeVersion(cmd.OutOrStdout(), b)
				return nil
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(struct {
				Version    string `json:"version"`
				Revision   string `json:"revision"`
				CommitTime string `json:"commit_time,omitempty"`
				Modified   bool   `json:"modified"`
				GoVersion  string `json:"go_version"`
				Platform   string `json:"platform"`
			}{b.Version, b.Revision, b.CommitTime, b.Modified, b.GoVersion, b.Platform})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
