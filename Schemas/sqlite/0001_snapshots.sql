-- Stethoscope snapshot store, version 1.
-- One snapshot per as-of date (YYYY-MM-DD in the configured time zone). Times are ISO 8601 UTC text
-- ('2026-12-01T06:00:00Z'). Re-running a date deletes and rewrites its rows inside one transaction.

-- One row per night that was run.
CREATE TABLE runs (
    as_of            TEXT PRIMARY KEY,
    started_at       TEXT NOT NULL,
    finished_at      TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('complete', 'partial', 'failed')),
    practices_hash   TEXT NOT NULL,            -- changes when practice definitions change
    people           INTEGER NOT NULL,
    devices          INTEGER NOT NULL,
    carried_forward  INTEGER NOT NULL,         -- devices copied from the last complete night (failed sources)
    source_records   INTEGER NOT NULL,
    merge_conflicts  INTEGER NOT NULL,
    detail_pruned    INTEGER NOT NULL DEFAULT 0 -- 1 once retention removed this night's per-device rows
) WITHOUT ROWID;

-- What each source, directory and attribution plugin did during a run.
CREATE TABLE run_sources (
    as_of      TEXT NOT NULL REFERENCES runs(as_of) ON DELETE CASCADE,
    source     TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('device', 'directory', 'attribution')),
    plugin     TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    records    INTEGER NOT NULL,
    pages      INTEGER NOT NULL,
    requests   INTEGER NOT NULL,
    retries    INTEGER NOT NULL,
    bytes      INTEGER NOT NULL,
    seconds    REAL NOT NULL,
    rejected   INTEGER NOT NULL,
    errors     TEXT NOT NULL,                  -- JSON object: error kind -> count
    failure    TEXT,                           -- why the source failed (never a secret)
    rejected_reasons TEXT NOT NULL,            -- JSON array of the first reasons records were dropped
    PRIMARY KEY (as_of, source)
) WITHOUT ROWID;

-- The practice definitions in force on each night.
CREATE TABLE practice_definitions (
    as_of        TEXT NOT NULL REFERENCES runs(as_of) ON DELETE CASCADE,
    practice     TEXT NOT NULL,
    position     INTEGER NOT NULL,             -- display order
    title        TEXT NOT NULL,
    description  TEXT NOT NULL,
    link         TEXT,
    rating       TEXT NOT NULL CHECK (rating IN ('critical', 'high', 'medium', 'low')),
    platforms    TEXT NOT NULL,                -- comma-separated, e.g. 'Mac,Windows'
    on_fail      TEXT NOT NULL,
    on_missing   TEXT NOT NULL,
    check_kind   TEXT NOT NULL CHECK (check_kind IN ('observation', 'os_version', 'software')),
    fingerprint  TEXT NOT NULL,                -- the full rule as text
    PRIMARY KEY (as_of, practice)
) WITHOUT ROWID;

-- The directory as it stood each night (so history can follow that night's org chart).
CREATE TABLE people (
    as_of          TEXT NOT NULL REFERENCES runs(as_of) ON DELETE CASCADE,
    email          TEXT NOT NULL,
    name           TEXT NOT NULL,
    manager_email  TEXT,
    organization   TEXT,
    title          TEXT,
    location       TEXT,
    active         INTEGER NOT NULL,
    PRIMARY KEY (as_of, email)
) WITHOUT ROWID;

-- Stable device keys ('serial:C02XK1ABJG5H'), numbered once and reused night after night.
CREATE TABLE device_keys (
    device_id   INTEGER PRIMARY KEY,
    device_key  TEXT NOT NULL UNIQUE,
    first_seen  TEXT NOT NULL
);

-- One row per merged device per night.
CREATE TABLE devices (
    as_of            TEXT NOT NULL REFERENCES runs(as_of) ON DELETE CASCADE,
    device_id        INTEGER NOT NULL REFERENCES device_keys(device_id),
    platform         TEXT,
    os_name          TEXT,
    os_version       TEXT,
    model            TEXT,
    device_name      TEXT,
    identifiers      TEXT NOT NULL,            -- space-separated 'kind:value'
    sources          TEXT NOT NULL,            -- comma-separated source names, sorted
    records          TEXT NOT NULL,            -- space-separated 'source/local_id'
    last_sync        TEXT,
    owner            TEXT,                     -- person email, NULL when no owner was found
    -- Hot-table CHECKs are written as OR chains: SQLite builds an ephemeral table for every execution of a
    -- statement checking `x IN (list)`, which halves the insert rate of a night.
    owner_method     TEXT NOT NULL CHECK (owner_method = 'source_hint' OR owner_method = 'attribution' OR owner_method = 'none'),
    owner_via        TEXT,                     -- the source or attribution plugin that decided the owner
    stale            INTEGER NOT NULL,
    virtual          INTEGER NOT NULL,
    carried_forward  INTEGER NOT NULL,         -- 1: copied from carried_from because its sources failed
    carried_from     TEXT,
    green            INTEGER NOT NULL,         -- every applicable practice ok
    critical         INTEGER NOT NULL,         -- a critical-rated practice at warn
    PRIMARY KEY (as_of, device_id)
) WITHOUT ROWID;

-- One row per device, practice and night.
CREATE TABLE practice_results (
    as_of        TEXT NOT NULL,
    device_id    INTEGER NOT NULL,
    practice     TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status = 'ok' OR status = 'nudge' OR status = 'warn' OR status = 'unknown' OR status = 'na'),
    value        TEXT,
    details      TEXT,
    observed_at  TEXT,
    source       TEXT,
    PRIMARY KEY (as_of, device_id, practice),
    FOREIGN KEY (as_of, device_id) REFERENCES devices(as_of, device_id) ON DELETE CASCADE
) WITHOUT ROWID;

-- Records that shared an identifier but were kept apart (e.g. two serials behind one dock MAC).
CREATE TABLE merge_audit (
    as_of        TEXT NOT NULL REFERENCES runs(as_of) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    shared       TEXT NOT NULL,                -- the identifier both sides had
    conflicting  TEXT NOT NULL,                -- the exclusive identifiers that differ
    records      TEXT NOT NULL,                -- space-separated 'source/local_id'
    PRIMARY KEY (as_of, seq)
) WITHOUT ROWID;

CREATE INDEX devices_owner ON devices(as_of, owner);
