<?php
/**
 * reglock addon module for WHMCS: records registrar-lock intents in reglock.
 * See integrations/whmcs/README.md. Settings: reglock URL, API token, events.
 */
if (!defined('WHMCS') && !defined('REGLOCK_STANDIN')) {
    die('This file cannot be accessed directly');
}

require_once __DIR__ . '/lib.php';

function reglock_config()
{
    return [
        'name' => 'reglock',
        'description' => 'Asks reglock to lock domains after registration/transfer, forwards registrar-lock toggles, and reports domains reglock does not track.',
        'version' => '1.0',
        'author' => 'reglock',
        'fields' => [
            'url' => ['FriendlyName' => 'reglock URL', 'Type' => 'text', 'Size' => '60', 'Description' => 'e.g. https://reglock.internal:8080'],
            'token' => ['FriendlyName' => 'API token', 'Type' => 'password', 'Size' => '60', 'Description' => 'A reglock write token'],
            'on_register' => ['FriendlyName' => 'Lock after registration', 'Type' => 'yesno', 'Default' => 'on'],
            'on_transfer' => ['FriendlyName' => 'Lock after incoming transfer', 'Type' => 'yesno', 'Default' => 'on'],
            'on_toggle' => ['FriendlyName' => 'Forward registrar-lock toggles', 'Type' => 'yesno', 'Default' => 'on'],
            'daily_report' => ['FriendlyName' => 'Daily report of untracked domains', 'Type' => 'yesno', 'Default' => 'on'],
        ],
    ];
}

function reglock_activate()
{
    return ['status' => 'success', 'description' => 'reglock activated: set the URL and token under Addon Modules.'];
}

function reglock_deactivate()
{
    return ['status' => 'success', 'description' => 'reglock deactivated.'];
}
