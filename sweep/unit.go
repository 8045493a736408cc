package sweep

import (
	"fmt"
	"strconv"
	"strings"
)

// Stage is a step of a running sweep. Stages run in the order of Stages;
// each is a set of units that run in parallel, and the last unit of a stage
// to finish plans the next.
type Stage string

// The stages, in order.
const (
	// StageBulk reads every account that can list its locks (one unit per
	// account, providers.BulkReader).
	StageBulk Stage = "bulk"
	// StageChunks reads, one by one, every domain the bulk stage did not
	// cover (one unit per occupied chunk of the inventory).
	StageChunks Stage = "chunks"
	// StageConfirm reads each suspected drift a second time, a confirm delay
	// after the first (one unit per unit that found suspects).
	StageConfirm Stage = "confirm"
)

// Stages is the order a sweep runs its stages in: the one place it is
// written down (the plan script is given it).
var Stages = []Stage{StageBulk, StageChunks, StageConfirm}

// Unit is one sweep:run task's share of a stage.
type Unit struct {
	Stage Stage
	// Account is the account a bulk unit lists.
	Account string
	// Chunk is the inventory chunk a chunk unit reads.
	Chunk int
	// Of is the unit whose suspects a confirm unit reads again.
	Of *Unit
	// Due marks a chunk-stage unit of a freshness pass: it reads the
	// pass's due list number Chunk instead of a chunk of the inventory.
	Due bool
}

// BulkUnit is the unit that lists account's locks.
func BulkUnit(account string) Unit { return Unit{Stage: StageBulk, Account: account} }

// ChunkUnit is the unit that reads chunk of the inventory.
func ChunkUnit(chunk int) Unit { return Unit{Stage: StageChunks, Chunk: chunk} }

// DueUnit is the unit of a freshness pass that reads its due list n.
func DueUnit(n int) Unit { return Unit{Stage: StageChunks, Chunk: n, Due: true} }

// ConfirmUnit is the unit that reads again what u suspected.
func ConfirmUnit(u Unit) Unit { return Unit{Stage: StageConfirm, Of: &u} }

// String is the unit's name in the sweep's record and in its task:
// "b:<account>", "c<chunk>", "d<list>", "k:<unit>". It never holds a ',' (the record
// lists units with commas) nor a '/' (task IDs hold it).
func (u Unit) String() string {
	switch u.Stage {
	case StageBulk:
		return "b:" + u.Account
	case StageChunks:
		if u.Due {
			return "d" + strconv.Itoa(u.Chunk)
		}
		return "c" + strconv.Itoa(u.Chunk)
	case StageConfirm:
		if u.Of != nil {
			return "k:" + u.Of.String()
		}
	}
	return "?"
}

// ParseUnit reads a unit's name.
func ParseUnit(s string) (Unit, error) {
	switch {
	case strings.HasPrefix(s, "b:") && len(s) > 2:
		return BulkUnit(s[2:]), nil
	case strings.HasPrefix(s, "k:"):
		of, err := ParseUnit(s[2:])
		if err != nil || of.Stage == StageConfirm {
			return Unit{}, fmt.Errorf("sweep: %q is not a unit", s)
		}
		return ConfirmUnit(of), nil
	case strings.HasPrefix(s, "c"), strings.HasPrefix(s, "d"):
		n, err := strconv.Atoi(s[1:])
		if err != nil || n < 0 || strconv.Itoa(n) != s[1:] {
			return Unit{}, fmt.Errorf("sweep: %q is not a unit", s)
		}
		if s[0] == 'd' {
			return DueUnit(n), nil
		}
		return ChunkUnit(n), nil
	}
	return Unit{}, fmt.Errorf("sweep: %q is not a unit", s)
}

func unitNames(units []Unit) []string {
	out := make([]string, len(units))
	for i, u := range units {
		out[i] = u.String()
	}
	return out
}

func stageNames() []any {
	out := make([]any, len(Stages))
	for i, s := range Stages {
		out[i] = string(s)
	}
	return out
}
