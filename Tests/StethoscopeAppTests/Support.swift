// The launchers, folders and helpers every test target shares (temporaryDirectory, stethoscopeBinary,
// Database.rows …) live in Tests/StethoscopeTestSupport; this makes them visible to every file here.
@_exported import StethoscopeTestSupport
