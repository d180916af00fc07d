import Foundation
import StethoscopeCore

// The one seam between the source plugins and `Benchmarks/`: every hook the benchmarks need (a plugin's page
// decoding, its `$select`, its SQL and fetch loop) is here, behind `@_spi(Benchmarks)`, so the plugins' own
// files hold production code only and nothing else sees these names. Only `stethoscope-bench` imports the SPI.

/// Hooks for `Benchmarks/HTTPBench.swift`: the source's page decoding (decode + map) and the bare decode alone.
@_spi(Benchmarks) public enum JamfPageDecoding {
    /// What `pull` does with each page's bytes.
    public static func source(_ body: Data) throws -> Int {
        let mapping = JamfMapping()
        return try JSONDecoder().decode(JamfPage.self, from: body).results.map { mapping.record($0, source: "jamf") }.count
    }
    /// A bare `JSONDecoder` over the same bytes into the same model, nothing else.
    public static func bare(_ body: Data) throws -> Int {
        try JSONDecoder().decode(JamfPage.self, from: body).results.count
    }
    /// The sections a default-configured source asks for.
    public static let defaultSections = [
        "GENERAL", "HARDWARE", "OPERATING_SYSTEM", "DISK_ENCRYPTION", "SECURITY",
        "USER_AND_LOCATION", "EXTENSION_ATTRIBUTES", "APPLICATIONS", "SERVICES"
    ]
}

/// For `Benchmarks/CloudBench.swift`: what the source does with one mobile page's bytes (decode + map).
@_spi(Benchmarks) public enum GooglePageDecoding {
    public static func mobile(_ body: Data) throws -> Int {
        try JSONDecoder().decode(MobilePage.self, from: body).mobiledevices?.compactMap { try? $0.result.get() }
            .map { GoogleMapping.mobile($0, source: "google") }.count ?? 0
    }
}

/// For `Benchmarks/CloudBench.swift`: the `$select` the source sends, so the fake can pre-render those pages.
@_spi(Benchmarks) public enum IntuneSelect {
    public static let devices = ManagedDevice.select
}

/// For `Benchmarks/ODBCBench.swift`: the SQL a preset runs, to time `psql COPY` of the same query.
@_spi(Benchmarks) public enum SQLInventoryPresets {
    public static func sql(_ preset: String, query: String) -> String? {
        SQLPresets.queries(preset).first { $0.name == query }?.sql
    }
    /// Rows of `sql` fetched (bound, packed, handed over) and dropped unread: the driver and server alone.
    public static func bareFetch(connectionString: String, sql: String) throws -> Int {
        let c = try ODBCConnection(connectionString: connectionString, loginTimeout: 30, redact: nil)
        var rows = 0
        try c.query(sql, timeout: 0) { _ in rows += 1 }
        return rows
    }
    /// A pull on the calling thread (the benchmark is synchronous).
    public static func pull(_ source: any DeviceSource, _ context: PullContext) throws -> [SourceRecord] {
        guard let s = source as? SQLInventorySource else { throw SourceError(source.name, "not an sql_inventory source") }
        return try s.pullNow(context)
    }
}

@_spi(Benchmarks) extension SQLInventoryPresets {
    /// Rows per second folded into devices and built into records with no driver: rows shaped like the
    /// benchmark's LANDESK devices (made beforehand, not timed), as the `devices` query's plan hands them over.
    public static func foldRate(rows: Int) -> Double {
        let fields = SQLPresets.landesk[0].columns.keys.sorted { $0.rawValue < $1.rawValue }
        let made: [[(SQLField, String?)]] = (1...rows).map { g in
            fields.map { f -> (SQLField, String?) in
                switch f {
                case .id: return (f, String(100000 + g))
                case .deviceID: return (f, "{\(String(g, radix: 16))-5e6f-7081-92a3-b4c5d6e7f809}")
                case .name: return (f, "WS-\(g)")
                case .lastSync, .hwScan, .swScan: return (f, "2026-03-01 00:00:00")
                case .email: return (f, "user\(g)@example.com")
                case .model: return (f, "Latitude 7440")
                case .manufacturer: return (f, "Dell Inc.")
                case .serial: return (f, "SN\(g)")
                case .bitlockerProtection: return (f, g % 10 == 0 ? "0 - off" : "1 - on")
                case .bitlockerConversion: return (f, "1 - fully encrypted")
                case .bitlockerPercent: return (f, "100")
                case .osBuild: return (f, g % 3 == 0 ? "19045" : "22631")
                case .osVersion: return (f, "6.3")
                case .osRelease: return (f, "2009")
                case .osName: return (f, "Microsoft Windows 11 Enterprise Edition, 64-bit")
                default: return (f, nil)
                }
            }
        }
        let how = SQLInterpretation()
        let start = ContinuousClock.now
        var devices = SQLDeviceSet(fields: fields)
        for values in made {
            if case .device(let slot) = devices.add(values, creates: true) { devices.streamed(slot, source: "epm", how) }
        }
        let records = devices.takeRecords(source: "epm", how)
        return Double(records.count) / (ContinuousClock.now - start).seconds
    }
}
