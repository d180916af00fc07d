-- Stethoscope snapshot store, version 10: compact history (README, "Storage layout").
--
-- A device-night used to be one wide `devices` row and a `practice_results` row per practice (about 1,400 bytes,
-- half of the result rows 'na'). What changes from night to night is small: the sync time and a few flags. So:
--   device_states  the device's slow-changing description (platform, OS, model, name, identifiers, sources,
--                  records, owner …), written once and reused for as long as it stays the same;
--   result_items   a device's practice results as a shared *set* (set_id): devices and nights with the same
--                  results ('na' included) point at one copy. Observation times are not part of a set: an item
--                  says whether its time is the night's sync time (observed = 0), the k-th time in the night's
--                  own `device_nights.observed` list (observed = k) or absent (NULL);
--   device_nights  one narrow row per device and night: the state, the result set, the sync time, the flags.
-- Times are stored as unix seconds when the ISO text ('2026-12-01T06:00:00Z') converts back exactly, as that text
-- otherwise. `devices` and `practice_results` are now VIEWS with the old names, columns, values and types: every
-- query written for version 9 reads the same rows. They are read-mostly; INSTEAD OF triggers keep UPDATE and DELETE
-- on them working (a changed row gets its own copy of the state or result set).

CREATE TABLE device_states (
    state_id      INTEGER PRIMARY KEY,
    device_id     INTEGER NOT NULL,    -- a device goes back to an earlier state (a source missing one night) by id
    platform      TEXT,
    os_name       TEXT,
    os_version    TEXT,
    model         TEXT,
    device_name   TEXT,
    identifiers   TEXT NOT NULL,
    sources       TEXT NOT NULL,
    records       TEXT NOT NULL,
    owner         TEXT,
    owner_method  TEXT NOT NULL,
    owner_via     TEXT,
    owner_reason  TEXT,
    virtual       INTEGER NOT NULL
);
CREATE INDEX device_states_device ON device_states (device_id);

CREATE TABLE result_items (
    set_id    INTEGER NOT NULL,
    practice  TEXT NOT NULL,
    status    TEXT NOT NULL,
    value     TEXT,
    details   TEXT,
    source    TEXT,
    observed  INTEGER,                 -- NULL: no time; 0: device_nights.last_sync; k: device_nights.observed[k-1]
    PRIMARY KEY (set_id, practice)
) WITHOUT ROWID;

CREATE TABLE device_nights (
    as_of            TEXT NOT NULL REFERENCES runs(as_of) ON DELETE CASCADE,
    device_id        INTEGER NOT NULL,
    state_id         INTEGER NOT NULL,
    results_id       INTEGER NOT NULL, -- result_items.set_id; 0 = no results
    last_sync,                         -- unix seconds, or the text when it is not a whole-second ISO time
    observed         TEXT,             -- JSON array of the night's other observation times (same encoding)
    stale            INTEGER NOT NULL,
    carried_forward  INTEGER NOT NULL,
    carried_from     TEXT,
    green            INTEGER NOT NULL,
    critical         INTEGER NOT NULL,
    PRIMARY KEY (as_of, device_id)
) WITHOUT ROWID;

-- The daily views' rows, counted with the night (they cost groups, not devices x practices, and a query on one night,
-- `WHERE as_of = (SELECT as_of FROM latest_night)` included, reads only that night's rows). Written and deleted with the
-- night's detail (retention prunes them with it), so the views keep their meaning. Stale devices count in daily_status
-- and daily_owners, not in the compliance tables; NULL organization or manager: no owner, or an owner without one.
CREATE TABLE daily_status (
    as_of     TEXT NOT NULL REFERENCES runs(as_of) ON DELETE CASCADE,
    practice  TEXT NOT NULL,
    status    TEXT NOT NULL,
    devices   INTEGER NOT NULL,
    PRIMARY KEY (as_of, practice, status)
) WITHOUT ROWID;
-- In daily_organization, '' stands for NULL (a key column cannot be NULL): as in the roll-ups, '' is no owner or none.
CREATE TABLE daily_organization (
    as_of         TEXT NOT NULL REFERENCES runs(as_of) ON DELETE CASCADE,
    organization  TEXT NOT NULL,
    practice      TEXT NOT NULL,
    applicable    INTEGER NOT NULL,
    ok            INTEGER NOT NULL,
    PRIMARY KEY (as_of, organization, practice)
) WITHOUT ROWID;
-- daily_manager has a row per manager and practice every night: the emails and practice keys are numbered once
-- in daily_names (manager_id 0: NULL) to keep it small.
CREATE TABLE daily_names (
    name_id  INTEGER PRIMARY KEY,
    name     TEXT NOT NULL UNIQUE
);
CREATE TABLE daily_manager (
    as_of        TEXT NOT NULL REFERENCES runs(as_of) ON DELETE CASCADE,
    manager_id   INTEGER NOT NULL,
    practice_id  INTEGER NOT NULL,
    applicable   INTEGER NOT NULL,
    ok           INTEGER NOT NULL,
    PRIMARY KEY (as_of, manager_id, practice_id)
) WITHOUT ROWID;
CREATE TABLE daily_owners (
    as_of                  TEXT NOT NULL REFERENCES runs(as_of) ON DELETE CASCADE,
    owner_method           TEXT NOT NULL,
    owner_via              TEXT,
    devices                INTEGER NOT NULL,
    no_owner               INTEGER NOT NULL,
    former_employee_owner  INTEGER NOT NULL
);
CREATE INDEX daily_owners_night ON daily_owners (as_of);

-- Filled from the version-2 and -4 views while they still read the wide tables.
INSERT INTO daily_status SELECT as_of, practice, status, devices FROM daily_practice_status;
INSERT INTO daily_organization SELECT as_of, COALESCE(organization, ''), practice, SUM(applicable), SUM(ok)
FROM daily_compliance_by_organization GROUP BY 1, 2, 3;
INSERT OR IGNORE INTO daily_names (name)
SELECT manager FROM daily_compliance_by_manager WHERE manager IS NOT NULL UNION SELECT practice FROM daily_compliance_by_manager;
INSERT INTO daily_manager SELECT v.as_of, COALESCE(m.name_id, 0), p.name_id, v.applicable, v.ok
FROM daily_compliance_by_manager v LEFT JOIN daily_names m ON m.name = v.manager JOIN daily_names p ON p.name = v.practice;
INSERT INTO daily_owners SELECT as_of, owner_method, owner_via, devices, no_owner, former_employee_owner FROM daily_ownership;

-- Existing nights, converted in place. Each device's distinct descriptions become its states.
CREATE TEMP TABLE states_0010 AS
SELECT ROW_NUMBER() OVER (ORDER BY device_id) AS state_id, *
FROM (SELECT DISTINCT device_id, platform, os_name, os_version, model, device_name, identifiers, sources, records,
             owner, owner_method, owner_via, owner_reason, virtual FROM devices);
CREATE INDEX temp.states_0010_device ON states_0010 (device_id);

INSERT INTO device_states (state_id, device_id, platform, os_name, os_version, model, device_name, identifiers, sources, records,
                           owner, owner_method, owner_via, owner_reason, virtual)
SELECT state_id, device_id, platform, os_name, os_version, model, device_name, identifiers, sources, records,
       owner, owner_method, owner_via, owner_reason, virtual FROM states_0010;

-- Per device-night, the observation times other than the sync time, numbered in time order.
CREATE TEMP TABLE observed_0010 (
    as_of TEXT NOT NULL, device_id INTEGER NOT NULL, k INTEGER NOT NULL, observed_at TEXT NOT NULL,
    PRIMARY KEY (as_of, device_id, k)
) WITHOUT ROWID;
INSERT INTO observed_0010
SELECT as_of, device_id, ROW_NUMBER() OVER (PARTITION BY as_of, device_id ORDER BY observed_at), observed_at
FROM (SELECT DISTINCT r.as_of, r.device_id, r.observed_at FROM practice_results r
      JOIN devices d ON d.as_of = r.as_of AND d.device_id = r.device_id
      WHERE r.observed_at IS NOT NULL AND r.observed_at IS NOT d.last_sync);
CREATE INDEX temp.observed_0010_time ON observed_0010 (as_of, device_id, observed_at);

-- Each result with its time as a code, in (night, device, practice) order.
CREATE TEMP TABLE items_0010 (
    as_of TEXT NOT NULL, device_id INTEGER NOT NULL, practice TEXT NOT NULL, status TEXT NOT NULL,
    value TEXT, details TEXT, source TEXT, observed INTEGER,
    PRIMARY KEY (as_of, device_id, practice)
) WITHOUT ROWID;
INSERT INTO items_0010
SELECT r.as_of, r.device_id, r.practice, r.status, r.value, r.details, r.source,
       CASE WHEN r.observed_at IS NULL THEN NULL WHEN r.observed_at IS d.last_sync THEN 0 ELSE o.k END
FROM practice_results r
JOIN devices d ON d.as_of = r.as_of AND d.device_id = r.device_id
LEFT JOIN observed_0010 o ON o.as_of = r.as_of AND o.device_id = r.device_id AND o.observed_at = r.observed_at;

-- A device-night's results as one key (rows are visited in primary-key order, so practices come sorted).
CREATE TEMP TABLE keys_0010 AS
SELECT as_of, device_id,
       group_concat(quote(practice) || ',' || quote(status) || ',' || quote(value) || ',' || quote(details) || ','
                    || quote(source) || ',' || quote(observed), char(30)) AS key
FROM items_0010 GROUP BY as_of, device_id;
CREATE TEMP TABLE sets_0010 AS
SELECT ROW_NUMBER() OVER (ORDER BY MIN(rowid)) AS set_id, key, MIN(rowid) AS first FROM keys_0010 GROUP BY key;
CREATE INDEX temp.sets_0010_key ON sets_0010 (key);

INSERT INTO result_items (set_id, practice, status, value, details, source, observed)
SELECT s.set_id, i.practice, i.status, i.value, i.details, i.source, i.observed
FROM sets_0010 s JOIN keys_0010 k ON k.rowid = s.first
JOIN items_0010 i ON i.as_of = k.as_of AND i.device_id = k.device_id;

INSERT INTO device_nights (as_of, device_id, state_id, results_id, last_sync, observed, stale, carried_forward,
                           carried_from, green, critical)
SELECT d.as_of, d.device_id, st.state_id, COALESCE(s.set_id, 0),
       CASE WHEN typeof(d.last_sync) = 'text' AND strftime('%Y-%m-%dT%H:%M:%SZ', d.last_sync) IS d.last_sync
            THEN CAST(strftime('%s', d.last_sync) AS INTEGER) ELSE d.last_sync END,
       (SELECT json_group_array(CASE WHEN strftime('%Y-%m-%dT%H:%M:%SZ', o.observed_at) IS o.observed_at
                                     THEN CAST(strftime('%s', o.observed_at) AS INTEGER) ELSE o.observed_at END)
        FROM (SELECT observed_at FROM observed_0010 o WHERE o.as_of = d.as_of AND o.device_id = d.device_id ORDER BY k) o
        HAVING count(*) > 0),
       d.stale, d.carried_forward, d.carried_from, d.green, d.critical
FROM devices d
JOIN states_0010 st ON st.device_id = d.device_id AND st.platform IS d.platform AND st.os_name IS d.os_name
     AND st.os_version IS d.os_version AND st.model IS d.model AND st.device_name IS d.device_name
     AND st.identifiers IS d.identifiers AND st.sources IS d.sources AND st.records IS d.records AND st.owner IS d.owner
     AND st.owner_method IS d.owner_method AND st.owner_via IS d.owner_via AND st.owner_reason IS d.owner_reason
     AND st.virtual IS d.virtual
LEFT JOIN keys_0010 k ON k.as_of = d.as_of AND k.device_id = d.device_id
LEFT JOIN sets_0010 s ON s.key = k.key;

DROP TABLE keys_0010;
DROP TABLE sets_0010;
DROP TABLE items_0010;
DROP TABLE observed_0010;
DROP TABLE states_0010;
-- Children first: practice_results referenced devices.
DROP TABLE practice_results;
DROP TABLE devices;

-- devices: the version-9 table, column for column.
CREATE VIEW devices AS
SELECT dn.as_of, dn.device_id, ds.platform, ds.os_name, ds.os_version, ds.model, ds.device_name, ds.identifiers, ds.sources,
       ds.records,
       CASE WHEN typeof(dn.last_sync) = 'integer' THEN strftime('%Y-%m-%dT%H:%M:%SZ', dn.last_sync, 'unixepoch')
            ELSE dn.last_sync END AS last_sync,
       ds.owner, ds.owner_method, ds.owner_via, dn.stale, ds.virtual, dn.carried_forward, dn.carried_from, dn.green,
       dn.critical, ds.owner_reason
FROM device_nights dn JOIN device_states ds ON ds.state_id = dn.state_id;

-- practice_results: the version-9 table, column for column ('na' rows included).
CREATE VIEW practice_results AS
SELECT dn.as_of, dn.device_id, ri.practice, ri.status, ri.value, ri.details,
       CASE WHEN ri.observed IS NULL THEN NULL
            WHEN ri.observed = 0 THEN
                 CASE WHEN typeof(dn.last_sync) = 'integer' THEN strftime('%Y-%m-%dT%H:%M:%SZ', dn.last_sync, 'unixepoch')
                      ELSE dn.last_sync END
            ELSE CASE WHEN json_type(dn.observed, '$[' || (ri.observed - 1) || ']') = 'integer'
                      THEN strftime('%Y-%m-%dT%H:%M:%SZ', json_extract(dn.observed, '$[' || (ri.observed - 1) || ']'), 'unixepoch')
                      ELSE json_extract(dn.observed, '$[' || (ri.observed - 1) || ']') END
       END AS observed_at,
       ri.source
FROM device_nights dn JOIN result_items ri ON ri.set_id = dn.results_id;

CREATE TRIGGER devices_delete INSTEAD OF DELETE ON devices BEGIN
    DELETE FROM device_nights WHERE as_of = OLD.as_of AND device_id = OLD.device_id;
END;

-- An edited device-night gets its own state; results timed at the old sync time keep that time.
CREATE TRIGGER devices_update INSTEAD OF UPDATE ON devices BEGIN
    SELECT RAISE(ABORT, 'devices: as_of and device_id cannot be changed')
    WHERE NEW.as_of IS NOT OLD.as_of OR NEW.device_id IS NOT OLD.device_id;
    UPDATE device_nights SET observed = json_insert(COALESCE(observed, '[]'), '$[#]', last_sync)
    WHERE as_of = OLD.as_of AND device_id = OLD.device_id AND NEW.last_sync IS NOT OLD.last_sync
      AND EXISTS (SELECT 1 FROM result_items i WHERE i.set_id = results_id AND i.observed = 0);
    INSERT INTO result_items (set_id, practice, status, value, details, source, observed)
    SELECT (SELECT MAX(set_id) FROM result_items) + 1, i.practice, i.status, i.value, i.details, i.source,
           CASE WHEN i.observed = 0 THEN json_array_length(n.observed) ELSE i.observed END
    FROM device_nights n JOIN result_items i ON i.set_id = n.results_id
    WHERE n.as_of = OLD.as_of AND n.device_id = OLD.device_id AND NEW.last_sync IS NOT OLD.last_sync
      AND EXISTS (SELECT 1 FROM result_items z WHERE z.set_id = n.results_id AND z.observed = 0);
    UPDATE device_nights SET results_id = (SELECT MAX(set_id) FROM result_items)
    WHERE as_of = OLD.as_of AND device_id = OLD.device_id AND NEW.last_sync IS NOT OLD.last_sync
      AND EXISTS (SELECT 1 FROM result_items i WHERE i.set_id = results_id AND i.observed = 0);
    INSERT INTO device_states (device_id, platform, os_name, os_version, model, device_name, identifiers, sources, records,
                               owner, owner_method, owner_via, owner_reason, virtual)
    VALUES (OLD.device_id, NEW.platform, NEW.os_name, NEW.os_version, NEW.model, NEW.device_name, NEW.identifiers, NEW.sources,
            NEW.records, NEW.owner, NEW.owner_method, NEW.owner_via, NEW.owner_reason, NEW.virtual);
    UPDATE device_nights SET state_id = (SELECT MAX(state_id) FROM device_states),
        last_sync = CASE WHEN typeof(NEW.last_sync) = 'text' AND strftime('%Y-%m-%dT%H:%M:%SZ', NEW.last_sync) IS NEW.last_sync
                         THEN CAST(strftime('%s', NEW.last_sync) AS INTEGER) ELSE NEW.last_sync END,
        stale = NEW.stale, carried_forward = NEW.carried_forward, carried_from = NEW.carried_from, green = NEW.green,
        critical = NEW.critical
    WHERE as_of = OLD.as_of AND device_id = OLD.device_id;
END;

-- An edited or deleted result gives its device-night its own copy of the result set.
CREATE TRIGGER practice_results_update INSTEAD OF UPDATE ON practice_results BEGIN
    SELECT RAISE(ABORT, 'practice_results: only status, value, details and source can be changed')
    WHERE NEW.as_of IS NOT OLD.as_of OR NEW.device_id IS NOT OLD.device_id OR NEW.practice IS NOT OLD.practice
       OR NEW.observed_at IS NOT OLD.observed_at;
    INSERT INTO result_items (set_id, practice, status, value, details, source, observed)
    SELECT (SELECT MAX(set_id) FROM result_items) + 1, i.practice,
           CASE WHEN i.practice = OLD.practice THEN NEW.status ELSE i.status END,
           CASE WHEN i.practice = OLD.practice THEN NEW.value ELSE i.value END,
           CASE WHEN i.practice = OLD.practice THEN NEW.details ELSE i.details END,
           CASE WHEN i.practice = OLD.practice THEN NEW.source ELSE i.source END, i.observed
    FROM device_nights n JOIN result_items i ON i.set_id = n.results_id
    WHERE n.as_of = OLD.as_of AND n.device_id = OLD.device_id;
    UPDATE device_nights SET results_id = (SELECT MAX(set_id) FROM result_items)
    WHERE as_of = OLD.as_of AND device_id = OLD.device_id;
END;

CREATE TRIGGER practice_results_delete INSTEAD OF DELETE ON practice_results BEGIN
    INSERT INTO result_items (set_id, practice, status, value, details, source, observed)
    SELECT (SELECT MAX(set_id) FROM result_items) + 1, i.practice, i.status, i.value, i.details, i.source, i.observed
    FROM device_nights n JOIN result_items i ON i.set_id = n.results_id
    WHERE n.as_of = OLD.as_of AND n.device_id = OLD.device_id AND i.practice <> OLD.practice;
    UPDATE device_nights SET results_id = CASE
        WHEN EXISTS (SELECT 1 FROM result_items i WHERE i.set_id = results_id AND i.practice <> OLD.practice)
        THEN (SELECT MAX(set_id) FROM result_items) ELSE 0 END
    WHERE as_of = OLD.as_of AND device_id = OLD.device_id;
END;

-- The daily views, now reading the daily tables (same names, columns and rows as versions 2 and 4).
DROP VIEW daily_practice_status;
CREATE VIEW daily_practice_status AS
SELECT as_of, practice, status, devices FROM daily_status;

DROP VIEW daily_compliance_by_organization;
CREATE VIEW daily_compliance_by_organization AS
SELECT as_of, NULLIF(organization, '') AS organization, practice, applicable, ok, CAST(ok AS REAL) / applicable AS compliance
FROM daily_organization;

DROP VIEW daily_compliance_by_manager;
CREATE VIEW daily_compliance_by_manager AS
SELECT daily_manager.as_of, m.name AS manager, p.name AS practice, daily_manager.applicable, daily_manager.ok,
       CAST(daily_manager.ok AS REAL) / daily_manager.applicable AS compliance
FROM daily_manager JOIN daily_names p ON p.name_id = daily_manager.practice_id
LEFT JOIN daily_names m ON m.name_id = daily_manager.manager_id;

DROP VIEW daily_ownership;
CREATE VIEW daily_ownership AS
SELECT as_of, owner_method, owner_via, devices, no_owner, former_employee_owner FROM daily_owners;

-- latest_device_posture joins the compact tables itself: a LEFT JOIN on the practice_results view would make SQLite
-- materialize every night's results.
DROP VIEW latest_device_posture;
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
JOIN device_nights dn ON dn.as_of = d.as_of AND dn.device_id = d.device_id
LEFT JOIN result_items r ON r.set_id = dn.results_id
GROUP BY d.device_id;
