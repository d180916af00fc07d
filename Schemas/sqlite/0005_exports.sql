-- Stethoscope snapshot store, version 5: exports of nights to Elasticsearch/OpenSearch.
-- SQLite stays the source of truth: this records which night was sent where and how far it got, so an
-- export can be repeated or resumed. Re-running a night deletes its row (ON DELETE CASCADE from runs):
-- a new snapshot has not been exported yet.

CREATE TABLE exports (
    as_of          TEXT NOT NULL REFERENCES runs(as_of) ON DELETE CASCADE,
    target         TEXT NOT NULL,              -- 'elasticsearch'
    index_name     TEXT NOT NULL,              -- the index the night's documents went to
    status         TEXT NOT NULL CHECK (status IN ('running', 'complete', 'partial', 'failed')),
                                               -- partial: every document was answered, some permanently rejected
    started_at     TEXT NOT NULL,              -- ISO 8601 UTC; the first attempt of this export
    finished_at    TEXT,                       -- NULL while running
    documents      INTEGER NOT NULL,           -- devices of the night
    sent           INTEGER NOT NULL,           -- documents posted (a resumed or repeated export counts again)
    ok             INTEGER NOT NULL,           -- documents acknowledged as indexed, up to resume_after
    failed         INTEGER NOT NULL,           -- documents rejected permanently (4xx items), up to resume_after
    resume_after   INTEGER NOT NULL,           -- last device_id acknowledged with every device before it
    attempts       INTEGER NOT NULL,           -- export attempts of this night (1 + resumes)
    item_errors    TEXT NOT NULL,              -- JSON array of the first permanent item errors ('<_id>: <type>: <reason>')
    failure        TEXT,                       -- why the export stopped (never a secret)
    PRIMARY KEY (as_of, target)
) WITHOUT ROWID;
