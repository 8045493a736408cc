package secret

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestString_neverPrints(t *testing.T) {
	s := String("hunter2-token")
	type holder struct {
		Token String `json:"token"`
	}
	outs := []string{
		fmt.Sprint(s), fmt.Sprintf("%s %v %q %x %+v %#v", s, s, s, s, s, s),
		fmt.Sprintf("%v %+v %#v", holder{s}, holder{s}, holder{s}),
	}
	j, err := json.Marshal(holder{s})
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(j))
	for _, out := range outs {
		if strings.Contains(out, "hunter2") {
			t.Errorf("secret leaked: %s", out)
		}
		if !strings.Contains(out, Redacted) {
			t.Errorf("expected %q in %s", Redacted, out)
		}
	}
	if s.Reveal() != "hunter2-token" {
		t.Errorf("Reveal() = %q", s.Reveal())
	}
	if String("").String() != "" {
		t.Error("empty secret should print empty")
	}
}
