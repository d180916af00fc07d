// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "stethoscope",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "stethoscope", targets: ["stethoscope"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
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
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),

        // The core: model, identifiers, merge, practices, config. No SQLite, HTTP or plugin.
        .target(
            name: "StethoscopeCore",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // The SQLite snapshot store (the source of truth).
        .target(name: "StethoscopeStore", dependencies: ["StethoscopeCore", "CSQLite"]),
        // Source plugins, one folder each under Plugins/, listed in SourceRegistry.swift.
        .target(
            name: "StethoscopeSources", dependencies: ["StethoscopeCore", "StethoscopeHTTP"],
            // Plugin folders also hold docs and sample config; they are not sources.
            exclude: ["Plugins/demo/README.md", "Plugins/demo/sample.yaml",
                      "Plugins/jamf/README.md", "Plugins/jamf/sample.yaml", "Plugins/jamf/fixtures",
                      "Plugins/fleet/README.md", "Plugins/fleet/sample.yaml", "Plugins/fleet/fixtures",
                      "Plugins/osquery/README.md", "Plugins/osquery/sample.yaml", "Plugins/osquery/fixtures"]),
        // libcurl's multi interface behind one owned thread; retries, limits, auth. Shared by all sources.
        .target(name: "StethoscopeHTTP", dependencies: ["StethoscopeCore", "CCurl"]),
        // Elasticsearch/OpenSearch `_bulk` export of the nights in SQLite (gzip through zlib).
        .target(
            name: "StethoscopeExport",
            dependencies: ["StethoscopeCore", "StethoscopeStore", "StethoscopeHTTP", "CZlib",
                           .product(name: "Logging", package: "swift-log")],
            exclude: ["README.md"]),
        // The nightly run and the commands' logic; the executable is a thin layer over it.
        .target(
            name: "StethoscopeApp",
            dependencies: [
                "StethoscopeCore", "StethoscopeStore", "StethoscopeSources",
                "StethoscopeExport",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(
            name: "stethoscope",
            dependencies: [
                "StethoscopeApp",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "stethoscope-bench", dependencies: ["StethoscopeApp", "CSQLite"], path: "Benchmarks"),

        .testTarget(name: "StethoscopeCoreTests", dependencies: ["StethoscopeCore"]),
        .testTarget(name: "StethoscopeStoreTests", dependencies: ["StethoscopeStore", "CSQLite"]),
        .testTarget(name: "StethoscopeSourcesTests", dependencies: ["StethoscopeSources"]),
        .testTarget(name: "StethoscopeAppTests", dependencies: ["StethoscopeApp"]),
        .testTarget(name: "StethoscopeExportTests", dependencies: ["StethoscopeExport", "StethoscopeStore", "StethoscopeHTTP"]),
        .testTarget(name: "StethoscopeHTTPTests", dependencies: ["StethoscopeHTTP", "StethoscopeSources"]),
    ]
)
