// The launchers, folders and helpers every test target shares (temporaryDirectory, Database.rows,
// PostgresCluster …) live in Tests/StethoscopeTestSupport; this makes them visible to every file here.
@_exported import StethoscopeTestSupport
