import Foundation

// `make bench`: release build, one line per figure. `stethoscope-bench night merge` runs only those.
// The full night runs first so its peak RSS is its own.
// `night-once PEOPLE`: one demo night in a process of its own (`night1m`'s runs; see `benchMillionNight`).
// `report-once DB OUT`: one report in a process of its own (the report benchmark's runs; see `benchReport`).
if CommandLine.arguments.count == 4, CommandLine.arguments[1] == "report-once" {
    try reportOnce(database: CommandLine.arguments[2], out: CommandLine.arguments[3])
    exit(0)
}
if CommandLine.arguments.count == 3, CommandLine.arguments[1] == "night-once", let people = Int(CommandLine.arguments[2]) {
    try await nightOnce(people: people)
    exit(0)
}
let only = Set(CommandLine.arguments.dropFirst())
func want(_ name: String) -> Bool { only.isEmpty || only.contains(name) }

if want("night") { try await benchFullNight() }
if want("night1m") { try benchMillionNight() }
if want("merge") { benchMerge() }
if want("store") { try benchStore() }
if want("storage") { try await benchStorage() }
if want("demo") { try await benchDemo() }
if want("jamf") { try await benchJamf() }
if want("cloud") { try await benchCloud() }
if want("odbc") { try benchODBC() }
if want("report") { try await benchReport() }
if want("rollup") { try await benchRollup() }
if want("export") { try await benchExport() }
if want("smtp") { try await benchSMTP() }
if want("notify") { try await benchNotify() }
if want("auth_logs") { try await benchAuthLogs() }
