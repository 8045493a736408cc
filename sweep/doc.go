// Package sweep owns reconciliation sweeps: their stages and units, the
// reading of every domain, the confirmation of suspected drift, the
// blast-radius guard, and their record in Redis.
//
// A sweep runs as sweep:run tasks (the worker's handler gives each to
// Runner.Run): a start task plans the first stage, and each stage's units
// run in parallel; the last unit of a stage to finish plans the next. The
// stages, in order (Stages): one unit per account that can list its locks
// (StageBulk), then one per chunk of the inventory for the domains no
// listing covered (StageChunks), then one per unit that found suspected
// drift, to read those domains a second time once the confirm delay has
// passed (StageConfirm). Each unit commits its tally and what it found
// atomically, once, with a cursor for partial progress, so a unit that is
// retried after a crash counts nothing twice. When the last confirmation
// commits, the sweep is finalized: the guard looks at each account's share
// of drift, and either the fixes are queued or the account is paused until
// an operator applies it.
//
// The package reaches the world through small interfaces it defines:
// Inventory (the store), Registrars (rate-limited reads, the worker's),
// Queue (tasks.Queue) and FixQueue (reconcile.FixQueue).
//
// All of a sweep's keys share one hash tag, so every commit is one Lua script
// on one Redis Cluster slot:
//
//	<prefix>sweep:{id}             hash: state, options, stage, pending units, counters, cursors, pauses
//	<prefix>sweep:{id}:sus:<unit>  hash: domain -> provider|lock|generation|registrar_id|read_ms, suspects
//	<prefix>sweep:{id}:fix:<unit>  hash: domain -> provider|lock|generation|registrar_id, confirmed drift
package sweep
