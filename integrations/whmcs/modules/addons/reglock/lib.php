<?php
/**
 * The reglock client used by the hooks. Every call is bounded (2s connect,
 * 5s total) and never throws: a failure is written to the WHMCS Activity Log
 * (logActivity, admin-visible) and the hook returns, so WHMCS never waits on
 * reglock.
 */

const REGLOCK_CONNECT_TIMEOUT = 2;
const REGLOCK_TIMEOUT = 5;

/** The addon's settings. The only place that reads WHMCS's database. */
function reglock_settings(): array
{
    if (function_exists('reglock_standin_settings')) {
        return reglock_standin_settings();
    }
    $out = [];
    foreach (\WHMCS\Database\Capsule::table('tbladdonmodules')->where('module', 'reglock')->get() as $row) {
        $out[$row->setting] = $row->value;
    }
    return $out;
}

function reglock_enabled(array $s, string $event): bool
{
    $v = $s[$event] ?? 'on';
    return $v === 'on' || $v === '1' || $v === true || $v === 'yes';
}

/** Who in WHMCS acted: the admin (admin area) or the client (client area). */
function reglock_whmcs_user(array $params = []): string
{
    if (function_exists('reglock_standin_user')) {
        return reglock_standin_user();
    }
    if (!empty($_SESSION['adminid'])) {
        return 'whmcs:admin:' . (int) $_SESSION['adminid'];
    }
    if (!empty($_SESSION['uid'])) {
        return 'whmcs:client:' . (int) $_SESSION['uid'];
    }
    if (!empty($params['userid'])) {
        return 'whmcs:client:' . (int) $params['userid'];
    }
    return 'whmcs:system';
}

function reglock_domain_name(array $params): string
{
    $tld = ltrim((string) ($params['tld'] ?? ''), '.');
    return strtolower(trim((string) ($params['sld'] ?? '')) . '.' . $tld);
}

/**
 * The Idempotency-Key for one WHMCS event: a hash of the hook, the domain id,
 * the lock state asked for and an event discriminator (a WHMCS-provided id or
 * timestamp if there is one), so WHMCS re-running the same hook reuses it.
 */
function reglock_idempotency_key(string $hook, array $params, string $state, string $discriminator = ''): string
{
    return 'whmcs-' . hash('sha256', implode("\n", [$hook, (string) ($params['domainid'] ?? ''), reglock_domain_name($params), $state, $discriminator]));
}

/**
 * One HTTP request to reglock. Returns [status, decoded body] or null after
 * logging the failure.
 */
function reglock_request(string $method, string $path, ?array $body = null, ?string $key = null): ?array
{
    $s = reglock_settings();
    $url = rtrim((string) ($s['url'] ?? ''), '/');
    if ($url === '' || empty($s['token'])) {
        logActivity('reglock: not configured (set the URL and token in Addon Modules)');
        return null;
    }
    $ch = curl_init($url . $path);
    $headers = ['Authorization: Bearer ' . $s['token'], 'Accept: application/json'];
    if ($key !== null) {
        $headers[] = 'Idempotency-Key: ' . $key;
    }
    if ($body !== null) {
        $headers[] = 'Content-Type: application/json';
        curl_setopt($ch, CURLOPT_POSTFIELDS, json_encode($body));
    }
    curl_setopt_array($ch, [
        CURLOPT_CUSTOMREQUEST => $method,
        CURLOPT_HTTPHEADER => $headers,
        CURLOPT_RETURNTRANSFER => true,
        CURLOPT_CONNECTTIMEOUT => REGLOCK_CONNECT_TIMEOUT,
        CURLOPT_TIMEOUT => REGLOCK_TIMEOUT,
        CURLOPT_NOSIGNAL => true,
        // The token goes with every request: certificates are always
        // verified, and nothing but http(s) is spoken (no redirects).
        CURLOPT_SSL_VERIFYPEER => true,
        CURLOPT_SSL_VERIFYHOST => 2,
        CURLOPT_PROTOCOLS => CURLPROTO_HTTP | CURLPROTO_HTTPS,
        CURLOPT_FOLLOWLOCATION => false,
    ]);
    $raw = curl_exec($ch);
    $status = (int) curl_getinfo($ch, CURLINFO_HTTP_CODE);
    $err = curl_error($ch);
    curl_close($ch);
    if ($raw === false) {
        logActivity(sprintf('reglock: %s %s failed: %s (WHMCS carried on; retry or check reglock)', $method, $path, $err));
        return null;
    }
    $decoded = json_decode((string) $raw, true);
    if ($status >= 300) {
        $msg = is_array($decoded) ? ($decoded['error']['message'] ?? $decoded['message'] ?? $decoded['error'] ?? $raw) : $raw;
        logActivity(sprintf('reglock: %s %s answered %d: %s', $method, $path, $status, is_string($msg) ? $msg : json_encode($msg)));
        return null;
    }
    return [$status, is_array($decoded) ? $decoded : []];
}

/** Ask reglock for a lock (true) or unlock (false). */
function reglock_intent(string $hook, array $params, bool $locked, string $requestedBy, string $reason, string $discriminator = ''): ?array
{
    $domain = reglock_domain_name($params);
    if ($domain === '.' || $domain === '') {
        logActivity("reglock: $hook without a domain name; nothing sent");
        return null;
    }
    $key = reglock_idempotency_key($hook, $params, $locked ? 'locked' : 'unlocked', $discriminator);
    return reglock_request($locked ? 'POST' : 'DELETE', '/v1/domains/' . rawurlencode($domain) . '/lock',
        ['requested_by' => $requestedBy, 'reason' => $reason], $key);
}

/** Every domain reglock tracks, lowercased. Null if reglock could not be read. */
function reglock_tracked_domains(): ?array
{
    $out = [];
    $cursor = '';
    for ($i = 0; $i < 10000; $i++) {
        $r = reglock_request('GET', '/v1/domains?limit=500' . ($cursor !== '' ? '&cursor=' . rawurlencode($cursor) : ''));
        if ($r === null) {
            return null;
        }
        foreach (($r[1]['domains'] ?? []) as $d) {
            $name = is_array($d) ? ($d['domain'] ?? '') : (string) $d;
            if ($name !== '') {
                $out[strtolower($name)] = true;
            }
        }
        $cursor = (string) ($r[1]['next_cursor'] ?? '');
        if ($cursor === '') {
            break;
        }
    }
    return $out;
}
