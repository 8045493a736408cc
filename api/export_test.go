package api

// IdempotencyPendingTTL exposes the pending marker's TTL to the api_test
// package.
const IdempotencyPendingTTL = idempotencyPendingTTL
