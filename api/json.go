package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/reglock/reglock/audit"
	"github.com/reglock/reglock/client"
	"github.com/reglock/reglock/intent"
	"github.com/reglock/reglock/policy"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/tasks"
)

// MaxBody is the largest request body accepted.
const MaxBody = 64 << 10

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, client.ErrorEnvelope{Error: client.Error{Code: code, Message: msg}})
}

// writeErr maps an error from the intent service or the store onto the
// envelope. Anything unexpected is a Redis or queue failure: the answer says
// so, and the request may be retried.
func (s *Server) writeErr(w http.ResponseWriter, err error) {
	var de *tasks.DomainError
	var fe *tasks.FieldError
	var nq *intent.NotQueuedError
	var pc *store.ProviderConflictError
	switch {
	case errors.As(err, &pc):
		writeError(w, http.StatusConflict, "provider_conflict", err.Error())
	case errors.Is(err, audit.ErrBadCursor):
		writeError(w, http.StatusBadRequest, "invalid_query", err.Error())
	case errors.As(err, &de):
		writeError(w, http.StatusBadRequest, "invalid_domain", err.Error())
	case errors.As(err, &fe):
		writeError(w, http.StatusBadRequest, "invalid_field", err.Error())
	case errors.Is(err, intent.ErrUnknownProvider):
		writeError(w, http.StatusUnprocessableEntity, "unknown_provider", err.Error())
	case errors.Is(err, store.ErrProviderRequired):
		writeError(w, http.StatusUnprocessableEntity, "provider_required", "the domain is not in the inventory and no provider's tlds cover it: give \"provider\"")
	case errors.Is(err, policy.ErrUnlockable): // *policy.CannotLockError
		writeError(w, http.StatusUnprocessableEntity, "lock_unsupported", err.Error())
	case errors.Is(err, policy.ErrLockedByPolicy): // *policy.PolicyLockedError, naming the window's end
		writeError(w, http.StatusUnprocessableEntity, "locked_by_policy", err.Error())
	case errors.Is(err, intent.ErrNoTradeLock):
		writeError(w, http.StatusUnprocessableEntity, "trade_lock_unsupported", err.Error())
	case errors.Is(err, store.ErrBadCursor):
		writeError(w, http.StatusBadRequest, "invalid_query", "cursor: not a cursor this API handed out")
	case errors.As(err, &nq):
		s.Log.Error().Err(err).Msg("request recorded but not queued")
		writeError(w, http.StatusServiceUnavailable, "unavailable", fmt.Sprintf(
			"the request was recorded as generation %d but the queue is unavailable; reglock's scheduler queues it by itself within about %d minutes of Redis answering again, and retrying is safe",
			nq.Generation, int(2*intent.UnqueuedAge/time.Minute)))
	default:
		s.Log.Error().Err(err).Msg("request failed")
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the store or the queue is unavailable; try again")
	}
}

// decodeBody reads a JSON object into v: at most MaxBody bytes, no unknown
// fields, nothing after the object. An empty body is allowed when optional.
// On failure it answers 400 naming the problem and returns false.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, optional bool) bool {
	body := http.MaxBytesReader(w, r.Body, MaxBody)
	data, err := io.ReadAll(body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusBadRequest, "body_too_large", fmt.Sprintf("request body larger than %d KiB", MaxBody>>10))
			return false
		}
		writeError(w, http.StatusBadRequest, "invalid_body", "could not read the request body")
		return false
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		if optional {
			return true
		}
		writeError(w, http.StatusBadRequest, "invalid_body", "a JSON object is required")
		return false
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send JSON with Content-Type: application/json")
		return false
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, bodyErrorCode(err), bodyErrorMessage(err))
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "invalid_body", "unexpected data after the JSON object")
		return false
	}
	return true
}

func bodyErrorCode(err error) string {
	if strings.HasPrefix(err.Error(), "json: unknown field ") {
		return "unknown_field"
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "invalid_field"
	}
	return "invalid_json"
}

func bodyErrorMessage(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	case errors.As(err, &te) && te.Field != "":
		return fmt.Sprintf("%s: want %s, got JSON %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
	case errors.As(err, &te):
		return fmt.Sprintf("the body must be a JSON object, got JSON %s", te.Value)
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON at byte %d: %s", se.Offset, se.Error())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed JSON: unexpected end of the body"
	default:
		return "malformed JSON: " + err.Error()
	}
}

func jsonKind(k string) string {
	switch k {
	case "ptr":
		return "a value"
	case "bool":
		return "true or false"
	case "string":
		return "a string"
	default:
		return k
	}
}
