package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/reglock/reglock/client"
)

// One of a thing is singular in the CLI's output and errors: "1 domain",
// "1 fix", "1 argument".
func TestGrammar_one(t *testing.T) {
	var b bytes.Buffer
	if err := writeDrift(&b, "table", []client.Domain{{Domain: "example.com", Provider: "enom-main"}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "\n1 domain out of sync\n") {
		t.Errorf("drift of one domain:\n%s", b.String())
	}
	b.Reset()
	if err := writeDrift(&b, "table", nil); err != nil || !strings.Contains(b.String(), "0 domains out of sync") {
		t.Errorf("drift of none: %v\n%s", err, b.String())
	}

	b.Reset()
	printOutcomes(&b, client.SweepReport{Sweep: client.Sweep{SweepID: "s"}, Domains: []client.ReportEntry{
		{Domain: "a.com", Provider: "p", Before: "unlocked", After: "locked", Outcome: "fixed"}}}, 20)
	if !strings.Contains(b.String(), "drift found: 1 domain (1 fixed)") {
		t.Errorf("one drift:\n%s", b.String())
	}

	cmd := &cobra.Command{Use: "status"}
	if err := exactArgs(1, "DOMAIN")(cmd, []string{"a", "b"}); err == nil || !strings.HasSuffix(err.Error(), "(got 2 arguments)") {
		t.Errorf("two arguments: %v", err)
	}
	if err := exactArgs(2, "A B")(cmd, []string{"a"}); err == nil || !strings.HasSuffix(err.Error(), "(got 1 argument)") {
		t.Errorf("one argument: %v", err)
	}
}
