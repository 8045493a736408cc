<?php
/**
 * reglock hooks. Hook names and parameters: see integrations/whmcs/README.md.
 * Each hook sends at most one bounded request and never throws.
 */
if (!defined('WHMCS') && !defined('REGLOCK_STANDIN')) {
    die('This file cannot be accessed directly');
}

require_once __DIR__ . '/lib.php';

/** A WHMCS-provided discriminator for the event, if the hook vars carry one. */
function reglock_event_discriminator(array $vars): string
{
    foreach (['logid', 'timestamp', 'time'] as $k) {
        if (isset($vars[$k])) {
            return (string) $vars[$k];
        }
    }
    return '';
}

function reglock_hook_completed(string $hook, string $event, array $vars, string $why): void
{
    try {
        $s = reglock_settings();
        if (!reglock_enabled($s, $event)) {
            return;
        }
        // The hook runs regardless of success; only a completed registration/transfer is locked.
        if (array_key_exists('functionSuccessful', $vars) && !$vars['functionSuccessful']) {
            return;
        }
        $params = $vars['params'] ?? [];
        reglock_intent($hook, $params, true, 'whmcs:' . $why, "WHMCS $why completed (domain id " . ($params['domainid'] ?? '?') . ')', reglock_event_discriminator($vars));
    } catch (\Throwable $e) {
        logActivity("reglock: $hook: " . $e->getMessage());
    }
}

// AfterRegistrarRegistration: params (common registrar module parameters).
add_hook('AfterRegistrarRegistration', 1, function ($vars) {
    reglock_hook_completed('AfterRegistrarRegistration', 'on_register', $vars, 'registration');
});

// AfterRegistrarTransfer: params (common registrar module parameters).
add_hook('AfterRegistrarTransfer', 1, function ($vars) {
    reglock_hook_completed('AfterRegistrarTransfer', 'on_transfer', $vars, 'transfer');
});

// AfterRegistrarSaveRegistrarLock: params (common module parameters plus
// lockenabled "locked"/"unlocked", as SaveRegistrarLock receives), results,
// functionExists, functionSuccessful. Client area and admin area both save the
// lock through the registrar module's SaveRegistrarLock.
add_hook('AfterRegistrarSaveRegistrarLock', 1, function ($vars) {
    try {
        $s = reglock_settings();
        if (!reglock_enabled($s, 'on_toggle')) {
            return;
        }
        $params = $vars['params'] ?? [];
        $locked = ($params['lockenabled'] ?? '') === 'locked';
        $user = reglock_whmcs_user($params);
        reglock_intent('AfterRegistrarSaveRegistrarLock', $params, $locked, $user,
            'registrar lock ' . ($locked ? 'enabled' : 'disabled') . ' in WHMCS', reglock_event_discriminator($vars));
    } catch (\Throwable $e) {
        logActivity('reglock: AfterRegistrarSaveRegistrarLock: ' . $e->getMessage());
    }
});

// DailyCronJob: no parameters. Reports domains WHMCS has that reglock does not.
add_hook('DailyCronJob', 1, function ($vars) {
    try {
        $s = reglock_settings();
        if (!reglock_enabled($s, 'daily_report')) {
            return;
        }
        $tracked = reglock_tracked_domains();
        if ($tracked === null) {
            return; // already logged
        }
        $missing = [];
        $offset = 0;
        do {
            $r = localAPI('GetClientsDomains', ['limitstart' => $offset, 'limitnum' => 250]);
            if (($r['result'] ?? '') !== 'success') {
                logActivity('reglock: GetClientsDomains failed: ' . ($r['message'] ?? 'unknown'));
                return;
            }
            $page = $r['domains']['domain'] ?? [];
            foreach ($page as $d) {
                $name = strtolower((string) ($d['domainname'] ?? ''));
                $status = (string) ($d['status'] ?? 'Active');
                if ($name !== '' && $status === 'Active' && !isset($tracked[$name])) {
                    $missing[] = $name;
                }
            }
            $offset += count($page);
        } while (count($page) > 0 && $offset < (int) ($r['totalresults'] ?? 0));
        if ($missing) {
            sort($missing);
            logActivity('reglock: ' . count($missing) . ' WHMCS domain(s) not in reglock: ' . implode(', ', $missing));
        }
    } catch (\Throwable $e) {
        logActivity('reglock: DailyCronJob: ' . $e->getMessage());
    }
});
