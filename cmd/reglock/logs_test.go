package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Every line of a JSON log is one JSON object whose keys are unique, at
// every level: a key twice in one object (a logger that carries the
// domain, and an event that adds it again) is a line that strict parsers
// (and some log pipelines) reject or read differently.
func TestE2E_jsonLogsHaveNoDuplicateKeys(t *testing.T) {
	t.Parallel()
	hook := newWebhook(t)
	// rate00 locked and rate01 unlocked at each of the four registrars.
	e, _, _ := newE2EFour(t, 50, 2, "  max_drift_share: 1\n"+hook.config(`"*"`))
	p := e.start("serve")
	e.eventually("the API", 15*time.Second, func() bool { c, _ := e.http("GET", "/healthz"); return c == 200 })

	run := func(args ...string) {
		t.Helper()
		if out, err := e.run(args...); err != nil {
			t.Fatalf("reglock %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// Changes, carried out at each registrar: the reconcile's own lines and
	// its history events.
	for _, d := range []string{"rate01.com", "rate01.net", "rate01.org", "rate01.ee", "rate00.com", "rate00.net", "rate00.org"} {
		run("lock", d, "--reason", "a change")
	}
	for _, d := range []string{"rate01.com", "rate01.net", "rate01.org", "rate01.ee", "rate00.com", "rate00.net", "rate00.org"} {
		e.eventually(d+" locked", 20*time.Second, func() bool { return e.inSync(d, true) })
	}
	// A permanent error: the registrar does not hold the domain.
	run("lock", "not-held.com")
	e.eventually("the error", 15*time.Second, func() bool {
		d, err := e.domain("not-held.com")
		return err == nil && d.Observed.Error != nil
	})
	// Drift, found by a sweep and fixed.
	e.sim.SetLocked("rate00.org", false)
	run("sweep", "--wait")
	e.eventually("the drift fixed", 15*time.Second, func() bool { l, _ := e.sim.Locked("rate00.org"); return l })
	// An unlock for a transfer, and the domain leaves: a task finds it gone.
	run("unlock", "rate00.com", "--for-transfer")
	e.eventually("rate00.com unlocked", 15*time.Second, func() bool { return e.inSync("rate00.com", false) })
	if _, err := e.sim.TransferAway("rate00.com"); err != nil {
		t.Fatal(err)
	}
	run("unlock", "rate00.com", "--for-transfer", "--reason", "again")
	e.eventually("rate00.com forgotten", 15*time.Second, func() bool {
		_, err := e.domain("rate00.com")
		return isAPIError(err, 404, "not_found")
	})
	// A transfer away pending for a domain meant to be locked, seen by a task.
	e.sim.SetLocked("rate00.net", false)
	if _, err := e.sim.StartTransferAway("rate00.net"); err != nil {
		t.Fatal(err)
	}
	run("lock", "rate00.net", "--reason", "relock")
	e.eventually("the transfer-out alarm", 30*time.Second, func() bool { return len(hook.Heard("transfer_pending rate00.net")) > 0 })

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()

	lines := strings.Split(strings.TrimSpace(p.out.String()), "\n")
	seen := map[string]bool{}
	for i, line := range lines {
		if err := uniqueKeys(line); err != nil {
			t.Errorf("log line %d: %v\n%s", i+1, err, line)
		}
		var m map[string]any
		_ = json.Unmarshal([]byte(line), &m)
		if msg, ok := m["message"].(string); ok {
			seen[msg] = true
		}
	}
	// The lines that used to repeat the domain or the provider were there.
	for _, msg := range []string{"registrar lock changed", "audit", "registrar error", "TRANSFER-OUT ALARM: a transfer away is pending for a domain meant to be locked"} {
		if !seen[msg] {
			t.Errorf("no %q line was logged: the test did not cover it", msg)
		}
	}
	if t.Failed() {
		t.Logf("%d lines", len(lines))
	}
}

// uniqueKeys checks that line is one JSON object in which no object, at
// any depth, has a key twice.
func uniqueKeys(line string) error {
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if tok != json.Delim('{') {
		return fmt.Errorf("not a JSON object")
	}
	if err := uniqueObject(dec, ""); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("more than one JSON value on the line")
	}
	return nil
}

// uniqueObject reads an object's members after its '{'.
func uniqueObject(dec *json.Decoder, path string) error {
	keys := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key := tok.(string)
		if keys[key] {
			return fmt.Errorf("key %q twice in object %q", key, path)
		}
		keys[key] = true
		if err := uniqueValue(dec, path+"."+key); err != nil {
			return err
		}
	}
	_, err := dec.Token() // '}'
	return err
}

func uniqueValue(dec *json.Decoder, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		return uniqueObject(dec, path)
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if err := uniqueValue(dec, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		_, err := dec.Token() // ']'
		return err
	}
	return nil
}

func TestUniqueKeys(t *testing.T) {
	for line, ok := range map[string]bool{
		`{"a":1,"b":{"a":2},"c":[{"a":1},{"a":2}]}`:  true,
		`{"domain":"x","provider":"p","domain":"x"}`: false,
		`{"a":{"b":1,"b":2}}`:                        false,
		`{"a":[{"b":1,"b":2}]}`:                      false,
		`not json`:                                   false,
		`{"a":1} {"b":2}`:                            false,
		`[1,2]`:                                      false,
	} {
		if err := uniqueKeys(line); (err == nil) != ok {
			t.Errorf("%s: %v", line, err)
		}
	}
	var b bytes.Buffer
	b.WriteString(`{"level":"info","domain":"a.com","provider":"enom-main","task_id":"lock:a.com@1","event":"change","domain":"a.com","provider":"enom-main","message":"audit"}`)
	if err := uniqueKeys(b.String()); err == nil || !strings.Contains(err.Error(), `key "domain" twice`) {
		t.Errorf("the old audit line: %v", err)
	}
}
