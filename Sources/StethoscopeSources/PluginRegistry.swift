import Foundation
import Logging
import StethoscopeCore
import StethoscopeHTTP

/// What a plugin may use while it is built from config.
public struct PluginEnvironment: Sendable {
    public var logger: Logger
    public init(logger: Logger) { self.logger = logger }
    /// The one HTTP client of the run, shared by every source.
    public var http: HTTPClient = .shared
    public init(logger: Logger, http: HTTPClient) {
        self.logger = logger
        self.http = http
    }
}

/// A source plugin: one folder under `Plugins/`, one line in `PluginRegistry.all`.
///
/// A plugin may serve any of the three roles; the defaults say it does not, so each plugin implements
/// only what it is. Builders read their keys from `config.section` and must call `finish()` on it.
public protocol SourcePlugin: Sendable {
    /// The `type:` value in config; also the plugin folder's name.
    static var type: String { get }
    static func deviceSource(_ config: PluginConfig, _ env: PluginEnvironment) throws -> any DeviceSource
    static func directory(_ config: PluginConfig, _ env: PluginEnvironment) throws -> any DirectorySource
    static func attribution(_ config: PluginConfig, _ env: PluginEnvironment) throws -> any AttributionSource
}

extension SourcePlugin {
    public static func deviceSource(_ config: PluginConfig, _ env: PluginEnvironment) throws -> any DeviceSource {
        throw config.section.error("type", "plugin '\(type)' is not a device source")
    }
    public static func directory(_ config: PluginConfig, _ env: PluginEnvironment) throws -> any DirectorySource {
        throw config.section.error("type", "plugin '\(type)' is not a directory")
    }
    public static func attribution(_ config: PluginConfig, _ env: PluginEnvironment) throws -> any AttributionSource {
        throw config.section.error("type", "plugin '\(type)' is not an attribution source")
    }
}

public enum PluginRegistry {
    /// Every plugin, by `type`. Adding a source: copy a folder under Plugins/ and add its line here.
    public static let all: [any SourcePlugin.Type] = [
        DemoPlugin.self,
        JamfPlugin.self,
        FleetPlugin.self,
        OsqueryPlugin.self,
        SQLInventoryPlugin.self,
        GooglePlugin.self,
        IntunePlugin.self,
        CSVDirectoryPlugin.self,
        BitFitPlugin.self,
        AssetCSVPlugin.self,
        AuthLogsPlugin.self
    ]

    public static func plugin(for config: PluginConfig) throws -> any SourcePlugin.Type {
        guard let p = all.first(where: { $0.type == config.type }) else {
            throw config.section.error("type", "unknown plugin '\(config.type.prefix(40))' (known: \(all.map { $0.type }.sorted().joined(separator: ", ")))")
        }
        return p
    }
}
