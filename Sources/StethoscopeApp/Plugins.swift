import Foundation
import Logging
import StethoscopeCore
import StethoscopeSources

/// The plugins a config asks for, built (and so validated) before anything is pulled.
public struct ConfiguredPlugins: Sendable {
    public var directory: (any DirectorySource)?
    public var sources: [(plugin: String, source: any DeviceSource)]
    public var attribution: [(plugin: String, source: any AttributionSource)]

    public init(_ config: StethoscopeConfig, environment: PluginEnvironment) throws {
        directory = try config.directory.map { try PluginRegistry.plugin(for: $0).directory($0, environment) }
        sources = try config.sources.map { ($0.type, try PluginRegistry.plugin(for: $0).deviceSource($0, environment)) }
        attribution = try config.attribution.map { ($0.type, try PluginRegistry.plugin(for: $0).attribution($0, environment)) }
    }
}
