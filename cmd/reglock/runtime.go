package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/breaker"
	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/metrics"
	"github.com/reglock/reglock/notify"
	"github.com/reglock/reglock/reconcile"
	"github.com/reglock/reglock/system"
	"github.com/reglock/reglock/tasks"
)

// runtime is one process's connections and services, built from the
// configuration (package system builds the services).
type runtime struct {
	*system.System
	cfg     *config.Config
	log     zerolog.Logger
	rdb     redis.UniversalClient
	queues  tasks.Namespace
	sandbox *sandbox
	closers []func()
	// redisOpt is how asynqmon, which makes its own connection, reaches Redis.
	redisOpt asynq.RedisConnOpt
}

// runtimeOptions say what a command needs.
type runtimeOptions struct {
	// embeddedOK allows the in-memory Redis (only `serve` may: anything
	// else would talk to a Redis nobody else can see).
	embeddedOK bool
	// registrars builds the registrar clients (workers need them).
	registrars bool
	// breakers puts a circuit breaker around each account (worker roles).
	breakers bool
	// namespace prefixes keys and queues (--namespace).
	namespace string
}

// openRuntime connects to Redis (or starts the sandbox) and builds the
// services every role shares.
// redisLogger sends go-redis's own messages (reconnects during a failover)
// to the process log instead of plain text on stderr.
type redisLogger struct{ l zerolog.Logger }

func (r redisLogger) Printf(_ context.Context, format string, v ...any) {
	r.l.Warn().Str("component", "go-redis").Msgf(format, v...)
}

// openConfigured opens the runtime of a command that works on the
// configured store (--config): the logger and the configuration from the
// global flags, in the namespace they name.
func (g *globals) openConfigured(ctx context.Context, opt runtimeOptions) (*runtime, error) {
	log, err := g.logger()
	if err != nil {
		return nil, err
	}
	// A command needs the registrars' credentials only if it talks to
	// them; never the API's tokens (its requests are served in process).
	cfg, err := g.loadConfigFor(config.Uses{Registrars: opt.registrars})
	if err != nil {
		return nil, err
	}
	opt.namespace = g.namespace
	return openRuntime(ctx, cfg, log, opt)
}

func openRuntime(ctx context.Context, cfg *config.Config, log zerolog.Logger, opt runtimeOptions) (*runtime, error) {
	redis.SetLogger(redisLogger{log})
	rt := &runtime{cfg: cfg, log: log, queues: tasks.Namespace(opt.namespace)}
	if cfg.Redis.Embedded() {
		if !opt.embeddedOK {
			return nil, errors.New("no Redis configured (redis.url, redis.sentinel or redis.cluster): only `reglock serve` can run on the embedded in-memory Redis; point this command at the same Redis as the server, or use --api")
		}
		sb, err := startSandbox(ctx, cfg, log)
		if err != nil {
			return nil, err
		}
		rt.sandbox = sb
		rt.rdb = sb.rdb
		rt.redisOpt = asynq.RedisClientOpt{Addr: sb.mr.Addr()}
		rt.closers = append(rt.closers, sb.Close)
	} else {
		rdb, opt, err := redisClient(cfg.Redis, cfg.Worker.Concurrency)
		if err != nil {
			return nil, err
		}
		rt.redisOpt = opt
		rt.rdb = rdb
		rt.closers = append(rt.closers, func() { rdb.Close() })
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = rdb.Ping(pctx).Err()
		cancel()
		if err != nil {
			rt.Close()
			return nil, fmt.Errorf("redis %s: %w", redisName(cfg.Redis), err)
		}
	}
	m := metrics.New()
	var accounts map[string]reconcile.Account
	var breakers *breaker.Set
	if opt.breakers {
		breakers = breaker.New(rt.rdb, system.Prefix(opt.namespace), breaker.Options{}, log)
		breakers.OnChange = func(account, state string) { m.BreakerTransitions.WithLabelValues(account, state).Inc() }
	}
	if opt.registrars {
		var err error
		if accounts, err = system.Accounts(cfg, m, breakers); err != nil {
			rt.Close()
			return nil, err
		}
	}
	rt.System = system.New(system.Options{Config: cfg, Redis: rt.rdb, Namespace: opt.namespace, Accounts: accounts, Log: log, Metrics: m})
	rt.NotifyBreakers(breakers)
	m.WatchSweeps(rt.Sweeps.Records)
	m.WatchQueues(asynq.NewInspectorFromRedisClient(rt.rdb), rt.queueNames())
	m.WatchBreakers(rt.breakerReport)
	m.WatchStore(rt.StoreStatus)
	m.WatchWork(rt.Store)
	// A command sees a store marked lost (and refuses); the serving roles
	// adopt the store's marker in runRoles and watch it.
	_, _ = rt.StoreWatch.Check(ctx)
	return rt, nil
}

// Close releases everything, last opened first.
func (rt *runtime) Close() {
	for i := len(rt.closers) - 1; i >= 0; i-- {
		rt.closers[i]()
	}
}

// queueNames are reglock's asynq queues in this namespace.
func (rt *runtime) queueNames() []string {
	return []string{rt.queues.Queue(tasks.QueueChanges), rt.queues.Queue(tasks.QueueFixes), rt.queues.Queue(tasks.QueueChecks),
		rt.queues.Queue(notify.Queue)}
}

// redisClient builds the client for a configured Redis (a single server, a
// Sentinel-managed primary, or a Cluster) that the store, the limiter and
// asynq share, and the matching options for asynqmon.
func redisClient(c config.Redis, concurrency int) (redis.UniversalClient, asynq.RedisConnOpt, error) {
	pool := max(concurrency+20, 32)
	switch {
	case c.Sentinel != nil:
		s := c.Sentinel
		return redis.NewFailoverClient(&redis.FailoverOptions{
				MasterName: s.MasterName, SentinelAddrs: s.Addrs,
				Password: s.Password.Reveal(), SentinelPassword: s.SentinelPassword.Reveal(),
				DB: s.DB, PoolSize: pool,
			}), asynq.RedisFailoverClientOpt{
				MasterName: s.MasterName, SentinelAddrs: s.Addrs,
				Password: s.Password.Reveal(), SentinelPassword: s.SentinelPassword.Reveal(), DB: s.DB,
			}, nil
	case c.Cluster != nil:
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: c.Cluster.Addrs, Password: c.Cluster.Password.Reveal(), PoolSize: pool,
		}), asynq.RedisClusterClientOpt{Addrs: c.Cluster.Addrs, Password: c.Cluster.Password.Reveal()}, nil
	default:
		opt, err := redis.ParseURL(c.URL)
		if err != nil {
			return nil, nil, fmt.Errorf("redis.url %s: %w", c.RedactedURL(), err)
		}
		opt.PoolSize = pool
		return redis.NewClient(opt), asynq.RedisClientOpt{
			Network: opt.Network, Addr: opt.Addr, Username: opt.Username, Password: opt.Password,
			DB: opt.DB, TLSConfig: opt.TLSConfig,
		}, nil
	}
}

// redisName describes a configured Redis for messages, without secrets.
func redisName(c config.Redis) string {
	switch {
	case c.Sentinel != nil:
		return fmt.Sprintf("sentinel %s %v", c.Sentinel.MasterName, c.Sentinel.Addrs)
	case c.Cluster != nil:
		return fmt.Sprintf("cluster %v", c.Cluster.Addrs)
	default:
		return c.RedactedURL()
	}
}

// breakerReport reads the registrar accounts' circuit breakers for
// /metrics and /readyz.
func (rt *runtime) breakerReport(ctx context.Context) (map[string]breaker.Status, error) {
	return breaker.Report(ctx, rt.rdb, breaker.Key(rt.Store.Prefix()), time.Now())
}
