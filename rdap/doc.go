// Package rdap reads the registry's view of a domain over RDAP (RFC 9082,
// 9083): a second witness next to the registrar. A sweep can compare three
// things: the lock reglock wants, the lock the registrar reports, and the
// statuses the registry publishes.
//
// What RDAP can tell: the EPP statuses the registry holds for the domain,
// in RFC 8056's names ("client transfer prohibited", "server transfer
// prohibited", "pending transfer", "active", ...), and its events
// (registration, transfer, last changed, expiration, and "last update of
// RDAP database"). Since ICANN ended the WHOIS obligations of gTLD
// registries and registrars in January 2025, RDAP is the authoritative
// public record for gTLDs.
//
// What it cannot tell:
//   - The registrar's own lock flag. RDAP shows EPP statuses: a registrar
//     lock normally appears as "client transfer prohibited", but a
//     registrar may set further client statuses, or show its lock only in
//     its own systems. A registrar lock and "client transfer prohibited"
//     are compared, not equated.
//   - Anything for TLDs without an RDAP service. Many ccTLDs have none in
//     production (.ee among them): Lookup returns ErrNoService, a clear
//     and permanent answer, not a failure.
//   - The present, exactly. Registries publish from a copy that can lag
//     the registry by minutes; Domain.DatabaseUpdated ("last update of
//     RDAP database") says how old the answer is, and config's freshness
//     says how stale an answer may be before a disagreement counts.
//
// Which server answers for a TLD comes from IANA's bootstrap file (RFC
// 9224, https://data.iana.org/rdap/dns.json), fetched lazily, kept in
// memory and refreshed every bootstrap_refresh (a day by default); a
// failed refresh keeps the copy held. The configuration can override the
// server of any TLD, or say that a TLD has none.
//
// Every request to an RDAP server is paced per server ("rdap:<host>"),
// through a Pacer: RateLimiter spends the budget shared through Redis by
// every worker process (package ratelimit). A 429 answer becomes a
// *providers.RetryAfterError carrying the server's Retry-After, so that
// providers.Judge reads it as RetryLater.
//
// Turning it on:
//
//	rdap:
//	  enabled: true
//	  # optional: rate: 1, burst: 1, timeout: 10s, freshness: 15m,
//	  # bootstrap: https://data.iana.org/rdap/dns.json, bootstrap_refresh: 24h,
//	  # servers: {ee: "", example: "https://rdap.example.net/"}
package rdap
