-- Stethoscope snapshot store, version 8: the nudges ledger (README, "Nudges").
-- One row per message notify decided to send, and per person held out of a selection. It is the source of
-- truth for what was sent: a row is written ('sending') and committed before its message is handed to the
-- transport, so a re-run or a resumed notify never sends it again (at-most-once). Deliberately no foreign key
-- to runs: re-running a night replaces the night, never the record of what its first run already sent.
--
-- kind:     'person' (digest and campaigns combined, at most one per person and night), 'manager' (weekly
--           digest), 'holdout' (the person would have been nudged by `campaign` but is in its hold-out group).
-- campaign: for 'person', the selections in the message, comma-separated ('digest', campaign names);
--           for 'holdout', the one selection held out; '' for 'manager'.
-- state:    'sending'     handed to the transport, no answer recorded (a crash): never re-sent automatically;
--           'sent'        accepted by the server (for at least the person);
--           'deferred'    refused for now (4xx, connection): nothing was delivered, the next notify retries it;
--           'failed'      refused permanently (5xx), or deferred too often: not retried;
--           'unconfirmed' the connection broke after the message was handed over: never re-sent;
--           'held_out'    kind 'holdout' only.
CREATE TABLE notifications (
    as_of       TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('person', 'manager', 'holdout')),
    campaign    TEXT NOT NULL,
    person      TEXT NOT NULL,                 -- the recipient's (or held-out person's) email
    cc          TEXT,                          -- the manager copied, if any
    message_id  TEXT,                          -- the Message-ID header, without <>
    subject     TEXT,
    state       TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'deferred', 'failed', 'unconfirmed', 'held_out')),
    attempts    INTEGER NOT NULL,
    error       TEXT,                          -- the server's or transport's reason (never a secret)
    reminder    INTEGER NOT NULL,              -- 0 first message of a failing streak, then 1, 2 … reminders
    devices     TEXT NOT NULL,                 -- space-separated device keys named
    practices   TEXT NOT NULL,                 -- space-separated practice keys named
    items       TEXT NOT NULL,                 -- space-separated 'device_id:practice' that needed action
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (as_of, kind, person, campaign)
) WITHOUT ROWID;

-- A person gets at most one message of each kind per night, whatever the campaigns were.
CREATE UNIQUE INDEX notifications_once ON notifications(as_of, kind, person) WHERE kind <> 'holdout';
CREATE INDEX notifications_person ON notifications(person, kind, as_of);
