-- Stethoscope snapshot store, version 12: compact roll-ups and failing streaks (README, "Storage layout").
--
-- rollup_practices held one wide row per night, group and practice (13 numbers and five keys, four of them text): about
-- 90 bytes for what is mostly a handful of small counts that stay the same night after night. So:
--   practice_numbers  each practice key numbered once (from 0);
--   rollup_counts     one group-night's device and people counts for every practice as a JSON array indexed by
--                     practice_no: null (no row for that practice) or [ok, ok_people, na, na_people, nudge,
--                     nudge_people, warn, warn_people, unknown, unknown_people] without its trailing zeros. A group
--                     whose counts did not change since the previous night points at the same copy;
--   rollup_groups     gains counts_id (NULL: no practice rows) and changes, the rare per-practice events as a JSON
--                     array indexed by practice_no: null or [newly_failing, fixed, fix_nights] (NULL: none tonight);
--   failing_items     failing_since with the practice numbered and `since` as days before the night.
-- `rollup_practices` and `failing_since` are now VIEWS with the old names, columns, values and types; `rollups` and
-- `rollup_compliance` read the compact tables with the same rows as before.

CREATE TABLE practice_numbers (
    practice_no  INTEGER PRIMARY KEY,      -- position in rollup_counts.counts and rollup_groups.changes
    practice     TEXT NOT NULL UNIQUE
);

CREATE TABLE rollup_counts (
    counts_id  INTEGER PRIMARY KEY,
    counts     TEXT NOT NULL               -- JSON array by practice_no (see above)
);

ALTER TABLE rollup_groups ADD COLUMN counts_id INTEGER;   -- rollup_counts.counts_id; NULL: no practice rows
ALTER TABLE rollup_groups ADD COLUMN changes TEXT;        -- JSON array by practice_no: [newly_failing, fixed, fix_nights]

CREATE TABLE failing_items (
    as_of        TEXT NOT NULL,
    device_id    INTEGER NOT NULL,
    practice_no  INTEGER NOT NULL,
    days         INTEGER NOT NULL,         -- since = as_of minus this many days
    PRIMARY KEY (as_of, device_id, practice_no)
) WITHOUT ROWID;

INSERT INTO practice_numbers (practice_no, practice)
SELECT ROW_NUMBER() OVER (ORDER BY practice) - 1, practice
FROM (SELECT practice FROM rollup_practices UNION SELECT practice FROM failing_since);

-- Each old row as its JSON element (trailing zeros cut: a ",0]" can only be the end of the array).
CREATE TEMP TABLE cells_0012 AS
SELECT r.chart, r.as_of, r.group_kind, r.group_id, n.practice_no,
       replace(replace(replace(replace(replace(replace(replace(replace(replace(
           '[' || r.ok || ',' || r.ok_people || ',' || r.na || ',' || r.na_people || ',' || r.nudge || ',' || r.nudge_people
           || ',' || r.warn || ',' || r.warn_people || ',' || r.unknown || ',' || r.unknown_people || ']',
           ',0]', ']'), ',0]', ']'), ',0]', ']'), ',0]', ']'), ',0]', ']'), ',0]', ']'), ',0]', ']'), ',0]', ']'), ',0]', ']')
           AS counts,
       CASE WHEN r.newly_failing = 0 AND r.fixed = 0 AND r.fix_nights = '' THEN NULL
            WHEN r.fixed = 0 AND r.fix_nights = '' THEN '[' || r.newly_failing || ']'
            ELSE '[' || r.newly_failing || ',' || r.fixed || ',' || json_quote(r.fix_nights) || ']' END AS changes
FROM rollup_practices r JOIN practice_numbers n ON n.practice = r.practice;
CREATE INDEX temp.cells_0012_key ON cells_0012 (chart, as_of, group_kind, group_id, practice_no);

-- Per group-night, the arrays over every practice number (visited in practice_no order).
CREATE TEMP TABLE groups_0012 AS
SELECT g.chart, g.as_of, g.group_kind, g.group_id,
       '[' || group_concat(COALESCE(c.counts, 'null'), ',') || ']' AS counts,
       CASE WHEN count(c.changes) > 0 THEN '[' || group_concat(COALESCE(c.changes, 'null'), ',') || ']' END AS changes,
       count(c.counts) AS cells
FROM (SELECT g.chart, g.as_of, g.group_kind, g.group_id, n.practice_no
      FROM (SELECT DISTINCT chart, as_of, group_kind, group_id FROM cells_0012) g CROSS JOIN practice_numbers n
      ORDER BY 1, 2, 3, 4, 5) g
LEFT JOIN cells_0012 c ON c.chart = g.chart AND c.as_of = g.as_of AND c.group_kind = g.group_kind
     AND c.group_id = g.group_id AND c.practice_no = g.practice_no
GROUP BY g.chart, g.as_of, g.group_kind, g.group_id;

-- A group's nights share one copy of their counts while they stay the same.
CREATE TEMP TABLE runs_0012 AS
SELECT chart, as_of, group_kind, group_id, counts, changes,
       SUM(fresh) OVER (PARTITION BY chart, group_kind, group_id ORDER BY as_of) AS run
FROM (SELECT *, counts IS NOT lag(counts) OVER (PARTITION BY chart, group_kind, group_id ORDER BY as_of) AS fresh
      FROM groups_0012);
CREATE TEMP TABLE ids_0012 AS
SELECT chart, as_of, group_kind, group_id, counts, changes,
       DENSE_RANK() OVER (ORDER BY chart, group_kind, group_id, run) AS counts_id
FROM runs_0012;
CREATE INDEX temp.ids_0012_key ON ids_0012 (chart, as_of, group_kind, group_id);

INSERT INTO rollup_counts (counts_id, counts) SELECT DISTINCT counts_id, counts FROM ids_0012;
-- A practice row without its group row (never written so) keeps its counts under a group row of zeros.
INSERT INTO rollup_groups (chart, as_of, group_kind, group_id, devices, stale, people, green, critical, newly_failing)
SELECT chart, as_of, group_kind, group_id, 0, 0, 0, 0, 0, 0 FROM ids_0012 i
WHERE NOT EXISTS (SELECT 1 FROM rollup_groups g WHERE g.chart = i.chart AND g.as_of = i.as_of
                  AND g.group_kind = i.group_kind AND g.group_id = i.group_id);
UPDATE rollup_groups SET (counts_id, changes) = (
    SELECT i.counts_id, i.changes FROM ids_0012 i WHERE i.chart = rollup_groups.chart AND i.as_of = rollup_groups.as_of
        AND i.group_kind = rollup_groups.group_kind AND i.group_id = rollup_groups.group_id);

INSERT INTO failing_items (as_of, device_id, practice_no, days)
SELECT f.as_of, f.device_id, n.practice_no, CAST(julianday(f.as_of) - julianday(f.since) AS INTEGER)
FROM failing_since f JOIN practice_numbers n ON n.practice = f.practice;

DROP TABLE ids_0012;
DROP TABLE runs_0012;
DROP TABLE groups_0012;
DROP TABLE cells_0012;
DROP VIEW rollups;
DROP VIEW rollup_compliance;
DROP TABLE rollup_practices;
DROP TABLE failing_since;

-- rollup_practices: the version-11 table, column for column.
CREATE VIEW rollup_practices AS
SELECT g.chart, g.as_of, g.group_kind, g.group_id, n.practice,
       COALESCE(json_extract(j.value, '$[0]'), 0) AS ok,
       COALESCE(json_extract(j.value, '$[4]'), 0) AS nudge,
       COALESCE(json_extract(j.value, '$[6]'), 0) AS warn,
       COALESCE(json_extract(j.value, '$[8]'), 0) AS unknown,
       COALESCE(json_extract(j.value, '$[2]'), 0) AS na,
       COALESCE(json_extract(j.value, '$[1]'), 0) AS ok_people,
       COALESCE(json_extract(j.value, '$[5]'), 0) AS nudge_people,
       COALESCE(json_extract(j.value, '$[7]'), 0) AS warn_people,
       COALESCE(json_extract(j.value, '$[9]'), 0) AS unknown_people,
       COALESCE(json_extract(j.value, '$[3]'), 0) AS na_people,
       COALESCE(json_extract(g.changes, '$[' || j.key || '][0]'), 0) AS newly_failing,
       COALESCE(json_extract(g.changes, '$[' || j.key || '][1]'), 0) AS fixed,
       COALESCE(json_extract(g.changes, '$[' || j.key || '][2]'), '') AS fix_nights
FROM rollup_groups g
JOIN rollup_counts c ON c.counts_id = g.counts_id
JOIN json_each(c.counts) j
JOIN practice_numbers n ON n.practice_no = j.key
WHERE j.type = 'array';

-- rollups: as in version 3, one row per status with devices and people (each night's chart, counts above zero). The
-- statuses are the even positions of a practice's array, its people the odd position after.
CREATE VIEW rollups AS
SELECT g.as_of, g.group_kind, g.group_id, n.practice,
       CASE v.key WHEN 0 THEN 'ok' WHEN 2 THEN 'na' WHEN 4 THEN 'nudge' WHEN 6 THEN 'warn' ELSE 'unknown' END AS status,
       v.value AS devices, COALESCE(json_extract(j.value, '$[' || (v.key + 1) || ']'), 0) AS people
FROM rollup_groups g
JOIN rollup_counts c ON c.counts_id = g.counts_id
JOIN json_each(c.counts) j
JOIN practice_numbers n ON n.practice_no = j.key
JOIN json_each(j.value) v
WHERE g.chart = 'night' AND j.type = 'array' AND v.key IN (0, 2, 4, 6, 8) AND v.value > 0;

-- rollup_compliance: as in version 3.
CREATE VIEW rollup_compliance AS
SELECT as_of, group_kind, group_id, practice,
       ok + nudge + warn + unknown AS applicable, ok,
       CAST(ok AS REAL) / NULLIF(ok + nudge + warn + unknown, 0) AS compliance,
       CAST(unknown AS REAL) / NULLIF(ok + nudge + warn + unknown, 0) AS unknown_share
FROM rollup_practices WHERE chart = 'night';

-- failing_since: the version-11 table, column for column.
CREATE VIEW failing_since AS
SELECT f.as_of, f.device_id, n.practice, date(f.as_of, '-' || f.days || ' days') AS since
FROM failing_items f JOIN practice_numbers n ON n.practice_no = f.practice_no;
