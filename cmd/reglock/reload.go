package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/reglock/reglock/api"
	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/notify"
)

// reloader re-reads the configuration on SIGHUP and applies what can
// change without a restart (docs/operations.md, "Token rotation"): the
// API's tokens, in a process that serves the API, and the webhook
// endpoints (notifications:, their URLs, secrets and events), in every
// process. Every other setting takes effect at the next restart. A
// configuration that does not load is logged and changes nothing; nor does
// one without tokens, for the tokens.
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

// serve handles each SIGHUP until ctx ends, applying it to srv (nil in a
// process without the API) and to the process's notifier.
func (r *reloader) serve(ctx context.Context, g *globals, log zerolog.Logger, srv *api.Server, n *notify.Notifier) {
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-r.hup:
				reload(g.configPath, r.load, log, r.apiServer(srv), n)
			}
		}
	}()
}

func (r *reloader) apiServer(srv *api.Server) *api.Server {
	if !r.api {
		return nil
	}
	return srv
}

// reload loads the configuration at path as at startup (the file, ${NAME}
// from the environment or $CREDENTIALS_DIRECTORY), swaps the API's tokens
// (srv, if this process serves the API) and the notifier's endpoints.
func reload(path string, load func() (*config.Config, error), log zerolog.Logger, srv *api.Server, n *notify.Notifier) {
	log = log.With().Str("component", "reload").Logger()
	if path == "" {
		log.Warn().Msg("SIGHUP: no configuration file to reload (--config); nothing changed")
		return
	}
	cfg, err := load()
	if err != nil {
		log.Error().Err(err).Str("config", path).Msg("SIGHUP: the configuration does not load; nothing changed (the API keeps its tokens, the webhooks their endpoints)")
		return
	}
	if n != nil {
		n.SetEndpoints(cfg.Notifications)
		names := make([]string, 0, len(cfg.Notifications))
		for _, ep := range cfg.Notifications {
			names = append(names, ep.Name)
		}
		log.Info().Str("config", path).Strs("endpoints", names).Msg("SIGHUP: webhook endpoints reloaded (URLs, secrets, events); queued deliveries go to the new ones")
	}
	if srv == nil {
		log.Info().Msg("SIGHUP: this process serves no API, so it has no tokens to reload (other settings take effect at the next restart)")
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
