-- Stethoscope snapshot store, version 7: identifiers as JSON, why a device has no owner, directory flags.
--
-- devices.identifiers becomes a JSON array of {"kind", "value"} objects, strongest first
-- ('[{"kind":"serial","value":"C02XK1ABJG5H"},{"kind":"mac","value":"A4:83:E7:12:34:56"}]'); it was space-separated
-- 'kind:value', which broke on serials with spaces ('VMware-56 4d …'). Query it with json_each:
--   SELECT d.as_of, k.device_key FROM devices d JOIN device_keys k USING (device_id), json_each(d.identifiers) i
--   WHERE json_extract(i.value, '$.kind') = 'mac' AND json_extract(i.value, '$.value') = 'A4:83:E7:12:34:56';
--
-- Existing rows are converted in place. A token starts a new identifier when it begins with a known kind and a colon;
-- any other token continues the previous value after a space (stored values are upper-cased or digits, so a piece of
-- a serial never looks like a lower-case kind).
CREATE TEMP TABLE identifiers_0009 (
    as_of        TEXT NOT NULL,
    device_id    INTEGER NOT NULL,
    identifiers  TEXT NOT NULL,
    PRIMARY KEY (as_of, device_id)
) WITHOUT ROWID;

INSERT INTO identifiers_0009 (as_of, device_id, identifiers)
WITH RECURSIVE walk (as_of, device_id, rest, kind, value, out) AS (
    SELECT as_of, device_id, identifiers || ' ', NULL, NULL, '[]'
    FROM devices WHERE identifiers <> '' AND substr(identifiers, 1, 1) <> '['
    UNION ALL
    SELECT as_of, device_id,
        substr(rest, instr(rest, ' ') + 1),
        CASE WHEN instr(substr(rest, 1, instr(rest, ' ') - 1), ':') > 1
                  AND substr(rest, 1, instr(rest, ':') - 1) IN ('serial', 'udid', 'imei', 'meid', 'device_id', 'mac', 'google_device_id')
                  AND instr(rest, ':') < instr(rest, ' ')
             THEN substr(rest, 1, instr(rest, ':') - 1) ELSE kind END,
        CASE WHEN instr(substr(rest, 1, instr(rest, ' ') - 1), ':') > 1
                  AND substr(rest, 1, instr(rest, ':') - 1) IN ('serial', 'udid', 'imei', 'meid', 'device_id', 'mac', 'google_device_id')
                  AND instr(rest, ':') < instr(rest, ' ')
             THEN substr(rest, instr(rest, ':') + 1, instr(rest, ' ') - instr(rest, ':') - 1)
             WHEN kind IS NULL THEN NULL
             ELSE value || ' ' || substr(rest, 1, instr(rest, ' ') - 1) END,
        CASE WHEN instr(substr(rest, 1, instr(rest, ' ') - 1), ':') > 1
                  AND substr(rest, 1, instr(rest, ':') - 1) IN ('serial', 'udid', 'imei', 'meid', 'device_id', 'mac', 'google_device_id')
                  AND instr(rest, ':') < instr(rest, ' ')
                  AND kind IS NOT NULL
             THEN json_insert(out, '$[#]', json_object('kind', kind, 'value', value)) ELSE out END
    FROM walk WHERE rest <> ''
)
SELECT as_of, device_id,
       CASE WHEN kind IS NULL THEN out ELSE json_insert(out, '$[#]', json_object('kind', kind, 'value', value)) END
FROM walk WHERE rest = '';

UPDATE devices SET identifiers = c.identifiers
FROM identifiers_0009 c WHERE c.as_of = devices.as_of AND c.device_id = devices.device_id;
UPDATE devices SET identifiers = '[]' WHERE identifiers = '';
DROP TABLE identifiers_0009;

-- Why a device has no owner, when that is worth knowing (NULL otherwise): 'ambiguous_email' when a source's
-- owner hint or an attribution named an email that several directory users have, so it names nobody in particular.
ALTER TABLE devices ADD COLUMN owner_reason TEXT;

-- people keeps the directory as it was given, manager links included; these flag what the run did about it.
-- manager_cycle = 1: the person is on a manager cycle; roll-ups and manager chains cut the cycle where it closes,
--   people.manager_email still holds the manager the directory named.
-- duplicate_email = 1: more than one directory user has this email; one row is kept, and no device is attributed to it.
--   SELECT as_of, email, manager_email FROM people WHERE manager_cycle = 1 OR duplicate_email = 1;
ALTER TABLE people ADD COLUMN manager_cycle INTEGER NOT NULL DEFAULT 0;
ALTER TABLE people ADD COLUMN duplicate_email INTEGER NOT NULL DEFAULT 0;
