// swift-tools-version:6.0
import Foundation
import PackageDescription

/// Plugin folders also hold a README, a sample config and fixtures, which are not sources. They are found
/// here, so adding a plugin stays "copy a folder, add one registry line".
let pluginDocs: [String] = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Sources/StethoscopeSources/Plugins")
    let folders = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
    return folders.sorted().flatMap { folder in
        ["README.md", "sample.yaml", "fixtures"].map { "Plugins/\(folder)/\($0)" }
            .filter { FileManager.default.fileExists(atPath: root.appendingPathComponent(String($0.dropFirst(8))).path) }
    }
}()

let package = Package(
    name: "stethoscope",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "stethoscope", targets: ["stethoscope"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // Google service-account JWTs are RS256-signed with swift-crypto's RSA (the google plugin).
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3")
    ],
    targets: [
        // C libraries used directly (design card): installed from Debian by `make`.
        .systemLibrary(
            name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(
            name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(
            name: "CODBC", path: "Sources/CODBC", pkgConfig: "odbc",
            providers: [.apt(["unixodbc-dev"])]),
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),

        // The core: model, identifiers, merge, practices, config. No SQLite, HTTP or plugin.
        .target(
            name: "StethoscopeCore",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log")
            ]),
        // The SQLite snapshot store (the source of truth).
        .target(name: "StethoscopeStore", dependencies: ["StethoscopeCore", "CSQLite"]),
        // Source plugins, one folder each under Plugins/, listed in PluginRegistry.swift.
        .target(
            name: "StethoscopeSources",
            dependencies: ["StethoscopeCore", "StethoscopeHTTP", "CODBC", "CZlib", .product(name: "_CryptoExtras", package: "swift-crypto")],
            exclude: pluginDocs),
        // libcurl's multi interface behind one owned thread; retries, limits, auth. Shared by all sources.
        .target(name: "StethoscopeHTTP", dependencies: ["StethoscopeCore", "CCurl"]),
        // Roll-ups per night and group and retention pruning: the write stage after the night's devices.
        .target(name: "StethoscopeRollups", dependencies: ["StethoscopeCore", "StethoscopeStore"]),
        // The static HTML trend report: reads the roll-ups (rebuilding a missing night's through StethoscopeRollups).
        .target(name: "StethoscopeReport", dependencies: ["StethoscopeCore", "StethoscopeStore", "StethoscopeRollups"]),
        // Elasticsearch/OpenSearch `_bulk` export of the nights in SQLite (gzip through zlib).
        .target(
            name: "StethoscopeExport",
            dependencies: [
                "StethoscopeCore", "StethoscopeStore", "StethoscopeHTTP", "CZlib",
                .product(name: "Logging", package: "swift-log")
            ],
            exclude: ["README.md"]),
        // Nudges: plans, writes and records the messages of a committed night (no HTTP: transports plug in).
        .target(name: "StethoscopeNotify", dependencies: ["StethoscopeCore", "StethoscopeStore"]),
        // The nightly run and the commands' logic; the executable is a thin layer over it.
        .target(
            name: "StethoscopeApp",
            dependencies: [
                "StethoscopeCore", "StethoscopeStore", "StethoscopeSources", "StethoscopeHTTP",
                "StethoscopeRollups",
                "StethoscopeReport",
                "StethoscopeExport",
                "StethoscopeNotify",
                .product(name: "Logging", package: "swift-log")
            ]),
        .executableTarget(
            name: "stethoscope",
            dependencies: [
                "StethoscopeApp",
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ]),
        .executableTarget(
            name: "stethoscope-bench", dependencies: ["StethoscopeApp", "StethoscopeRollups", "CSQLite", "StethoscopeTestSupport"], path: "Benchmarks"),

        // What the tests and the benchmarks share: the launchers of the fake and real servers (Python fakes,
        // osmem-server, noida-db, PostgreSQL), temporary folders, query helpers and the built binary. Only the
        // test targets and stethoscope-bench depend on it; the shipped `stethoscope` product does not.
        .target(
            name: "StethoscopeTestSupport", dependencies: ["StethoscopeStore", "StethoscopeHTTP"],
            path: "Tests/StethoscopeTestSupport"),

        .testTarget(name: "StethoscopeCoreTests", dependencies: ["StethoscopeCore"]),
        .testTarget(name: "StethoscopeStoreTests", dependencies: ["StethoscopeStore", "CSQLite", "StethoscopeTestSupport"]),
        .testTarget(name: "StethoscopeSourcesTests", dependencies: ["StethoscopeSources", "StethoscopeTestSupport"]),
        .testTarget(name: "StethoscopeAppTests", dependencies: ["StethoscopeApp", "StethoscopeTestSupport"]),
        .testTarget(name: "StethoscopeHTTPTests", dependencies: ["StethoscopeHTTP", "StethoscopeSources", "StethoscopeApp", "StethoscopeTestSupport"]),
        .testTarget(
            name: "StethoscopeReportTests",
            dependencies: ["StethoscopeReport", "StethoscopeRollups", "StethoscopeStore", "StethoscopeApp", "StethoscopeTestSupport"]),
        .testTarget(
            name: "StethoscopeCloudTests",
            dependencies: ["StethoscopeApp", "StethoscopeStore", "StethoscopeSources", "StethoscopeHTTP", "CSQLite", "StethoscopeTestSupport"]),
        .testTarget(name: "StethoscopeNotifyTests", dependencies: ["StethoscopeNotify", "StethoscopeStore", "StethoscopeApp", "StethoscopeTestSupport"]),
        .testTarget(name: "StethoscopeExportTests", dependencies: ["StethoscopeExport", "StethoscopeStore", "StethoscopeHTTP", "StethoscopeTestSupport"])
    ]
)
