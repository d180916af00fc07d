-- Stethoscope snapshot store, version 11: owners from authentication logs (the auth_logs attribution plugin) and
-- the devices those logs reveal that no inventory manages (README, "BYOD: owners from authentication logs").

-- owner_evidence: per night and device, what the authentication logs of an auth_logs entry (via) said. A row exists
-- when the logs decided the owner (owner_method 'auth_logs', as devices.owner_method says, with owner_via naming
-- the same entry) or found the device shared by two or more people above the shared share
-- (owner_method is then the device's own, shared = 1, shared_with the users, most days first, as a JSON array).
-- days: distinct days the owner (for a shared device: its first user) authenticated from the device in the window;
-- user_days: the days of every user together; last_seen: that person's last authentication.
--   SELECT e.device_key, d.owner, e.days, e.last_seen FROM owner_evidence e JOIN device_keys k USING (device_key)
--   JOIN devices d ON d.as_of = e.as_of AND d.device_id = k.device_id
--   WHERE e.as_of = (SELECT as_of FROM latest_night) AND e.owner_method = 'auth_logs';
CREATE TABLE owner_evidence (
    as_of         TEXT NOT NULL REFERENCES runs(as_of) ON DELETE CASCADE,
    device_key    TEXT NOT NULL,
    via           TEXT NOT NULL,
    owner_method  TEXT NOT NULL,
    days          INTEGER NOT NULL,
    user_days     INTEGER NOT NULL,
    last_seen     TEXT NOT NULL,
    shared        INTEGER NOT NULL,
    shared_with   TEXT,
    PRIMARY KEY (as_of, device_key)
) WITHOUT ROWID;

-- unmanaged_devices: per night, identifiers that authenticated in the window of an auth_logs entry (via) but match
-- no device of any source (nor, on a partial night, one carried forward): devices on the network that no inventory
-- manages. person is the directory email of the user with the most days (NULL when that user is not in the
-- directory; user then says who the logs named), organization that person's organization that night. They are
-- not devices: they count in no compliance figure.
--   SELECT organization, COUNT(*) FROM unmanaged_devices WHERE as_of = (SELECT as_of FROM latest_night) GROUP BY 1;
CREATE TABLE unmanaged_devices (
    as_of         TEXT NOT NULL REFERENCES runs(as_of) ON DELETE CASCADE,
    identifier    TEXT NOT NULL,
    via           TEXT NOT NULL,
    user          TEXT NOT NULL,
    person        TEXT,
    organization  TEXT,
    days          INTEGER NOT NULL,
    last_seen     TEXT NOT NULL,
    shared        INTEGER NOT NULL,
    PRIMARY KEY (as_of, identifier)
) WITHOUT ROWID;
