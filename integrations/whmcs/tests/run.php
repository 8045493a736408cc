<?php
/**
 * A stand-in for WHMCS: add_hook, run_hook, localAPI, logActivity and the
 * settings, enough to load the addon's hooks.php and call them with the
 * parameters WHMCS's documentation gives. Driven by REGLOCK_URL/REGLOCK_TOKEN;
 * prints one JSON line per step for cmd/reglock/whmcs_test.go.
 *
 * Usage: php run.php STEP   (STEP: register, toggle_off, retry, down, cron)
 */
define('REGLOCK_STANDIN', true);

$GLOBALS['standin'] = ['hooks' => [], 'log' => [], 'user' => 'whmcs:client:7',
    'settings' => ['url' => getenv('REGLOCK_URL'), 'token' => getenv('REGLOCK_TOKEN')],
    'domains' => []];

function add_hook($name, $priority, $fn) { $GLOBALS['standin']['hooks'][$name][] = [$priority, $fn]; }
function run_hook($name, $vars) {
    $hs = $GLOBALS['standin']['hooks'][$name] ?? [];
    usort($hs, fn($a, $b) => $a[0] <=> $b[0]);
    foreach ($hs as $h) { $h[1]($vars); }
    return count($hs);
}
function logActivity($msg, $userId = 0) { $GLOBALS['standin']['log'][] = $msg; }
function localAPI($command, $values = [], $adminUser = '') {
    if ($command !== 'GetClientsDomains') { return ['result' => 'error', 'message' => "stand-in: $command"]; }
    $all = $GLOBALS['standin']['domains'];
    $page = array_slice($all, (int) ($values['limitstart'] ?? 0), (int) ($values['limitnum'] ?? 25));
    return ['result' => 'success', 'totalresults' => count($all), 'startnumber' => (int) ($values['limitstart'] ?? 0),
        'numreturned' => count($page), 'domains' => ['domain' => $page]];
}
function reglock_standin_settings() { return $GLOBALS['standin']['settings']; }
function reglock_standin_user() { return $GLOBALS['standin']['user']; }

require __DIR__ . '/../modules/addons/reglock/reglock.php';
require __DIR__ . '/../modules/addons/reglock/hooks.php';

function params($id, $sld, $tld, $extra = []) {
    // The common registrar module parameters (developers.whmcs.com/domain-registrars/module-parameters/).
    return array_merge(['userid' => 7, 'domainid' => $id, 'sld' => $sld, 'tld' => $tld, 'regperiod' => 1,
        'ns1' => 'ns1.example.net', 'ns2' => 'ns2.example.net', 'firstname' => 'Ada', 'lastname' => 'Lovelace'], $extra);
}
function registrarVars($params) {
    return ['params' => $params, 'results' => ['success' => true], 'functionExists' => true, 'functionSuccessful' => true];
}

$step = $argv[1] ?? '';
$t0 = microtime(true);
switch ($step) {
case 'register': // registration of whmcs-reg.com, then transfer of whmcs-xfer.com
    run_hook('AfterRegistrarRegistration', registrarVars(params(101, 'whmcs-reg', 'com')));
    run_hook('AfterRegistrarTransfer', registrarVars(params(102, 'whmcs-xfer', '.com', ['eppcode' => 'abc'])));
    break;
case 'toggle_off': // the client turns the registrar lock off in the client area
    $GLOBALS['standin']['user'] = 'whmcs:client:7';
    run_hook('AfterRegistrarSaveRegistrarLock', registrarVars(params(101, 'whmcs-reg', 'com', ['lockenabled' => 'unlocked'])));
    break;
case 'retry': // WHMCS runs the same admin-area lock save twice
    $GLOBALS['standin']['user'] = 'whmcs:admin:1';
    $v = registrarVars(params(103, 'whmcs-retry', 'com', ['lockenabled' => 'locked']));
    run_hook('AfterRegistrarSaveRegistrarLock', $v);
    run_hook('AfterRegistrarSaveRegistrarLock', $v);
    break;
case 'down':
    run_hook('AfterRegistrarRegistration', registrarVars(params(104, 'whmcs-down', 'com')));
    break;
case 'cron':
    $GLOBALS['standin']['domains'] = [
        ['id' => 101, 'domainname' => 'whmcs-reg.com', 'status' => 'Active'],
        ['id' => 105, 'domainname' => 'whmcs-only.com', 'status' => 'Active'],
        ['id' => 106, 'domainname' => 'gone.com', 'status' => 'Cancelled'],
    ];
    run_hook('DailyCronJob', []);
    break;
default:
    fwrite(STDERR, "usage: php run.php register|toggle_off|retry|down|cron\n");
    exit(2);
}
echo json_encode(['step' => $step, 'seconds' => microtime(true) - $t0, 'log' => $GLOBALS['standin']['log']]), "\n";
