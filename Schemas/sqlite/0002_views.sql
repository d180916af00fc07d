-- Stethoscope snapshot store, version 2: analyst views.
-- These names and columns are stable: reports, notebooks and dashboards may rely on them. Statuses are
-- 'ok', 'nudge', 'warn', 'unknown', 'na'. Nights whose detail was pruned by retention (runs.detail_pruned = 1)
-- have no per-device rows, so they drop out of the per-device and daily views below.

-- latest_night: the as-of date of the newest run (one row; NULL before the first run).
--   SELECT as_of FROM latest_night;
CREATE VIEW latest_night AS
SELECT MAX(as_of) AS as_of FROM runs;

-- latest_devices: the newest night's devices, one row each, with the stable device key, the owner and the
-- owner's organization and manager as the directory stood that night, the sources that saw the device and
-- its flags (stale, virtual, carried_forward/carried_from, green, critical).
--   SELECT organization, COUNT(*) AS devices, SUM(green) AS green FROM latest_devices GROUP BY organization;
CREATE VIEW latest_devices AS
SELECT d.as_of, d.device_id, k.device_key, d.platform, d.os_name, d.os_version, d.model, d.device_name,
       d.owner, p.name AS owner_name, p.organization, p.manager_email AS manager, d.owner_method, d.owner_via,
       d.sources, d.last_sync, d.stale, d.virtual, d.carried_forward, d.carried_from, d.green, d.critical
FROM latest_night n
JOIN devices d ON d.as_of = n.as_of
JOIN device_keys k ON k.device_id = d.device_id
LEFT JOIN people p ON p.as_of = d.as_of AND p.email = d.owner;

-- latest_device_posture: the newest night, one row per device and one column per shipped practice holding
-- its status (NULL when the practice was not evaluated that night, e.g. a disabled one).
--   SELECT device_key, owner FROM latest_device_posture WHERE encryption = 'warn';
CREATE VIEW latest_device_posture AS
SELECT d.as_of, d.device_id, d.device_key, d.platform, d.owner, d.organization, d.stale, d.green, d.critical,
       MAX(CASE WHEN r.practice = 'encryption' THEN r.status END) AS encryption,
       MAX(CASE WHEN r.practice = 'os_version' THEN r.status END) AS os_version,
       MAX(CASE WHEN r.practice = 'screen_lock' THEN r.status END) AS screen_lock,
       MAX(CASE WHEN r.practice = 'firewall' THEN r.status END) AS firewall,
       MAX(CASE WHEN r.practice = 'auto_updates' THEN r.status END) AS auto_updates,
       MAX(CASE WHEN r.practice = 'remote_login' THEN r.status END) AS remote_login,
       MAX(CASE WHEN r.practice = 'jailbreak' THEN r.status END) AS jailbreak,
       MAX(CASE WHEN r.practice = 'unknown_sources' THEN r.status END) AS unknown_sources,
       MAX(CASE WHEN r.practice = 'adb' THEN r.status END) AS adb,
       MAX(CASE WHEN r.practice = 'developer_options' THEN r.status END) AS developer_options,
       MAX(CASE WHEN r.practice = 'verified_boot' THEN r.status END) AS verified_boot,
       MAX(CASE WHEN r.practice = 'carbon_black' THEN r.status END) AS carbon_black,
       MAX(CASE WHEN r.practice = 'sentinelone' THEN r.status END) AS sentinelone
FROM latest_devices d
LEFT JOIN practice_results r ON r.as_of = d.as_of AND r.device_id = d.device_id
GROUP BY d.device_id;

-- daily_practice_status: per night and practice, how many devices had each status (stale ones included).
--   SELECT as_of, devices FROM daily_practice_status WHERE practice = 'encryption' AND status = 'warn';
CREATE VIEW daily_practice_status AS
SELECT as_of, practice, status, COUNT(*) AS devices
FROM practice_results
GROUP BY as_of, practice, status;

-- daily_compliance_by_organization: per night, owner's organization (as of that night; NULL for devices
-- without an owner or an owner without one) and practice: applicable devices (status other than 'na', stale
-- devices left out), how many were 'ok', and compliance = ok / applicable. 'unknown' counts against it.
--   SELECT as_of, compliance FROM daily_compliance_by_organization
--   WHERE organization = 'Engineering' AND practice = 'encryption' ORDER BY as_of;
CREATE VIEW daily_compliance_by_organization AS
SELECT r.as_of, p.organization, r.practice,
       COUNT(*) AS applicable,
       SUM(r.status = 'ok') AS ok,
       CAST(SUM(r.status = 'ok') AS REAL) / COUNT(*) AS compliance
FROM practice_results r
JOIN devices d ON d.as_of = r.as_of AND d.device_id = r.device_id
LEFT JOIN people p ON p.as_of = d.as_of AND p.email = d.owner
WHERE r.status <> 'na' AND d.stale = 0
GROUP BY r.as_of, p.organization, r.practice;

-- daily_compliance_by_manager: the same per owner's direct manager (manager's email as of that night; NULL
-- when the device has no owner or the owner no manager). For a manager's whole tree, use the roll-ups.
--   SELECT manager, practice, compliance FROM daily_compliance_by_manager
--   WHERE as_of = (SELECT as_of FROM latest_night) ORDER BY compliance;
CREATE VIEW daily_compliance_by_manager AS
SELECT r.as_of, p.manager_email AS manager, r.practice,
       COUNT(*) AS applicable,
       SUM(r.status = 'ok') AS ok,
       CAST(SUM(r.status = 'ok') AS REAL) / COUNT(*) AS compliance
FROM practice_results r
JOIN devices d ON d.as_of = r.as_of AND d.device_id = r.device_id
LEFT JOIN people p ON p.as_of = d.as_of AND p.email = d.owner
WHERE r.status <> 'na' AND d.stale = 0
GROUP BY r.as_of, p.manager_email, r.practice;
