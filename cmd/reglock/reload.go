package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/reglock/reglock/api"
	"github.com/reglock/reglock/config"
)

// reloader re-reads the configuration on SIGHUP and gives the API its new
// tokens, so that a token is rotated without a restart (docs/operations.md,
// "Token rotation"). Only api.tokens is applied: every other setting takes
// effect at the next restart. A configuration that does not load, or has
// no token, is logged and changes nothing. A process without the API
// (worker, scheduler) logs the signal and changes nothing.
type reloader struct {
	hup chan os.Signal
	api bool
	// load reads the configuration as the process did at start.
	load func() (*config.Config, error)
}

// listenForReload catches SIGHUP from the start of the process: its
// default is to end the process at once, without the grace period. load
// reads the configuration as the process did at start.
func listenForReload(api bool, load func() (*config.Config, error)) *reloader {
	r := &reloader{hup: make(chan os.Signal, 1), api: api, load: load}
	signal.Notify(r.hup, syscall.SIGHUP)
	return r
}

// stop lets SIGHUP end the process again.
func (r *reloader) stop() { signal.Stop(r.hup) }

// serve handles each SIGHUP, applying it to srv in a process that serves
// the API, until ctx ends.
func (r *reloader) serve(ctx context.Context, g *globals, log zerolog.Logger, srv *api.Server) {
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-r.hup:
				if !r.api || srv == nil {
					log.Warn().Str("component", "reload").Msg("SIGHUP: this process serves no API, so it has no tokens to reload; nothing changed (other settings take effect at the next restart)")
					continue
				}
				reloadTokens(g.configPath, r.load, log, srv)
			}
		}
	}()
}

// reloadTokens loads the configuration at path as at startup (the file,
// ${NAME} from the environment or $CREDENTIALS_DIRECTORY) and swaps the
// API's tokens for the new ones.
func reloadTokens(path string, load func() (*config.Config, error), log zerolog.Logger, srv *api.Server) {
	log = log.With().Str("component", "reload").Logger()
	if path == "" {
		log.Warn().Msg("SIGHUP: no configuration file to reload (--config); nothing changed")
		return
	}
	cfg, err := load()
	if err != nil {
		log.Error().Err(err).Str("config", path).Msg("SIGHUP: the configuration does not load; the API keeps its current tokens")
		return
	}
	if len(cfg.API.Tokens) == 0 {
		log.Error().Str("config", path).Msg("SIGHUP: api.tokens is empty; the API keeps its current tokens")
		return
	}
	srv.SetTokens(cfg.API.Tokens)
	names := make([]string, 0, len(cfg.API.Tokens))
	for _, t := range cfg.API.Tokens {
		names = append(names, t.Name)
	}
	ev := log.Info().Str("config", path).Strs("tokens", names)
	if srv.NoAuth {
		ev = log.Warn().Str("config", path).Strs("tokens", names).Str("note", "--insecure-no-auth started without tokens: the API still serves anyone until it restarts")
	}
	ev.Msg("SIGHUP: configuration reloaded; the API accepts the new tokens (other settings take effect at the next restart)")
}
