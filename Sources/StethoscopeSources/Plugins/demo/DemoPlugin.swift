import StethoscopeCore

/// Placeholder until the demo company generator lands.
public enum DemoPlugin: SourcePlugin {
    public static let type = "demo"
}
