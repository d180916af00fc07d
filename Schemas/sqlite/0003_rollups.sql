-- Stethoscope snapshot store, version 3: roll-ups (DESIGN.md, "Groups and roll-ups").
-- Counted per night and group so reports cost groups x nights, not devices. Roll-ups outlive the per-device
-- detail that retention prunes (runs.detail_pruned = 1).
--
-- chart: 'night'   each night counted under that night's own org chart (the nightly run writes these);
--        'current' history re-attributed to the newest night's chart (`stethoscope rollup --rebuild --org-chart current`).
-- group_kind / group_id: 'company' / ''; 'organization' / the organization ('' = no owner or no organization);
--        'manager' / the manager's email: the manager and everyone below them, transitively;
--        'direct' / the manager's email: the devices of the manager's direct reports only.
-- Stale devices are left out of every status count (they are counted in rollup_groups.stale).

-- One row per night, group and practice: devices and distinct owners per status (a wide row; the view
-- `rollups` below gives the one-row-per-status form).
CREATE TABLE rollup_practices (
    chart          TEXT NOT NULL CHECK (chart IN ('night', 'current')),
    as_of          TEXT NOT NULL,
    group_kind     TEXT NOT NULL CHECK (group_kind IN ('company', 'organization', 'manager', 'direct')),
    group_id       TEXT NOT NULL,
    practice       TEXT NOT NULL,
    ok             INTEGER NOT NULL,
    nudge          INTEGER NOT NULL,
    warn           INTEGER NOT NULL,
    unknown        INTEGER NOT NULL,
    na             INTEGER NOT NULL,
    ok_people      INTEGER NOT NULL,
    nudge_people   INTEGER NOT NULL,
    warn_people    INTEGER NOT NULL,
    unknown_people INTEGER NOT NULL,
    na_people      INTEGER NOT NULL,
    newly_failing  INTEGER NOT NULL,       -- warn/nudge tonight, not on the previous night with detail
    fixed          INTEGER NOT NULL,       -- ok tonight after an unbroken failing streak
    fix_nights     TEXT NOT NULL,          -- space-separated nights from first failing to ok, one per fix
    PRIMARY KEY (chart, as_of, group_kind, group_id, practice)
) WITHOUT ROWID;

-- One row per night and group: device and people totals, green and critical devices.
CREATE TABLE rollup_groups (
    chart          TEXT NOT NULL CHECK (chart IN ('night', 'current')),
    as_of          TEXT NOT NULL,
    group_kind     TEXT NOT NULL CHECK (group_kind IN ('company', 'organization', 'manager', 'direct')),
    group_id       TEXT NOT NULL,
    devices        INTEGER NOT NULL,       -- every device, stale ones included
    stale          INTEGER NOT NULL,
    people         INTEGER NOT NULL,       -- distinct owners
    green          INTEGER NOT NULL,       -- of the devices that are not stale
    critical       INTEGER NOT NULL,       -- of the devices that are not stale
    newly_failing  INTEGER NOT NULL,       -- devices with at least one practice newly failing
    PRIMARY KEY (chart, as_of, group_kind, group_id)
) WITHOUT ROWID;

-- Which chart each kind of roll-up was last computed under (for 'current': the newest night at the time).
CREATE TABLE rollup_state (
    chart        TEXT PRIMARY KEY CHECK (chart IN ('night', 'current')),
    chart_as_of  TEXT,
    computed_at  TEXT NOT NULL
) WITHOUT ROWID;

-- Data quality per night and platform ('' = unknown platform).
CREATE TABLE rollup_quality (
    as_of             TEXT NOT NULL,
    platform          TEXT NOT NULL,
    devices           INTEGER NOT NULL,
    stale             INTEGER NOT NULL,
    no_owner          INTEGER NOT NULL,
    former_owner      INTEGER NOT NULL,    -- the owner is inactive (a former employee) or gone from the directory
    fewer_sources     INTEGER NOT NULL,    -- seen by fewer of the expected sources than expected
    expected_sources  TEXT NOT NULL,       -- comma-separated: sources that saw at least half of the platform's devices
    PRIMARY KEY (as_of, platform)
) WITHOUT ROWID;

-- Per night, source and practice: devices (not stale) the source saw, and how many were 'unknown'.
CREATE TABLE rollup_sources (
    as_of     TEXT NOT NULL,
    source    TEXT NOT NULL,
    practice  TEXT NOT NULL,
    devices   INTEGER NOT NULL,
    unknown   INTEGER NOT NULL,
    PRIMARY KEY (as_of, source, practice)
) WITHOUT ROWID;

-- Per-device detail (pruned with devices): since when each failing (warn/nudge) practice has been failing.
CREATE TABLE failing_since (
    as_of      TEXT NOT NULL,
    device_id  INTEGER NOT NULL,
    practice   TEXT NOT NULL,
    since      TEXT NOT NULL,
    PRIMARY KEY (as_of, device_id, practice)
) WITHOUT ROWID;

-- rollups: the roll-ups under each night's own chart, one row per status with devices and people.
--   SELECT as_of, devices FROM rollups
--   WHERE group_kind = 'organization' AND group_id = 'Engineering' AND practice = 'encryption' AND status = 'warn';
CREATE VIEW rollups AS
SELECT as_of, group_kind, group_id, practice, 'ok' AS status, ok AS devices, ok_people AS people
FROM rollup_practices WHERE chart = 'night' AND ok > 0
UNION ALL SELECT as_of, group_kind, group_id, practice, 'nudge', nudge, nudge_people
FROM rollup_practices WHERE chart = 'night' AND nudge > 0
UNION ALL SELECT as_of, group_kind, group_id, practice, 'warn', warn, warn_people
FROM rollup_practices WHERE chart = 'night' AND warn > 0
UNION ALL SELECT as_of, group_kind, group_id, practice, 'unknown', unknown, unknown_people
FROM rollup_practices WHERE chart = 'night' AND unknown > 0
UNION ALL SELECT as_of, group_kind, group_id, practice, 'na', na, na_people
FROM rollup_practices WHERE chart = 'night' AND na > 0;

-- rollup_compliance: per night, group and practice (each night's chart): applicable devices (not 'na', not
-- stale), ok, compliance = ok / applicable (NULL when nothing applies) and the unknown share.
--   SELECT as_of, compliance FROM rollup_compliance
--   WHERE group_kind = 'manager' AND group_id = 'cto@example.com' AND practice = 'encryption' ORDER BY as_of;
CREATE VIEW rollup_compliance AS
SELECT as_of, group_kind, group_id, practice,
       ok + nudge + warn + unknown AS applicable, ok,
       CAST(ok AS REAL) / NULLIF(ok + nudge + warn + unknown, 0) AS compliance,
       CAST(unknown AS REAL) / NULLIF(ok + nudge + warn + unknown, 0) AS unknown_share
FROM rollup_practices WHERE chart = 'night';
