import Foundation
import StethoscopeCore
import StethoscopeRollups
import StethoscopeStore

/// What `stethoscope report` was asked for.
public struct ReportOptions: Sendable {
    public var out: URL
    /// Nights shown, ending with `asOf`.
    public var nights: Int
    /// The last night shown (default: the newest).
    public var asOf: String?
    /// Name individual employees and list their devices (off by default: managers and organizations only).
    public var includePeople: Bool
    public var chart: OrgChartChoice
    /// Groups with fewer counted devices are left out of "Where to focus" and the regressions and improvements, so
    /// one device in a tiny team never headlines (config `report: {min_group_devices: 10}`).
    public var minGroupDevices: Int
    /// A night whose device count moves by more than this share of the night before is explained by its sources'
    /// record counts (config `report: {device_change_percent: 10}`).
    public var deviceChangeThreshold: Double
    public init(
        out: URL, nights: Int = 90, asOf: String? = nil, includePeople: Bool = false, chart: OrgChartChoice = .night,
        minGroupDevices: Int = 10, deviceChangeThreshold: Double = 0.1
    ) {
        self.out = out
        self.nights = nights
        self.asOf = asOf
        self.includePeople = includePeople
        self.chart = chart
        self.minGroupDevices = minGroupDevices
        self.deviceChangeThreshold = deviceChangeThreshold
    }
}

/// What was written.
public struct ReportResult: Sendable {
    public var index: URL
    public var pages: Int
    public var files: Int
    public var seconds: Double
}

/// The static trend report: a self-contained site (inline CSS and SVG, no script) read from the roll-ups.
public enum Report {
    /// `progress` gets the pages written so far and the pages the report will have (a terminal's live line).
    @discardableResult
    public static func generate(
        store: SnapshotStore, options: ReportOptions,
        progress: ((_ pages: Int, _ total: Int) -> Void)? = nil
    ) throws -> ReportResult {
        let start = ContinuousClock.now
        let data = try ReportData.load(store, options: options)
        try FileManager.default.createDirectory(at: options.out, withIntermediateDirectories: true)
        // The report names people and their devices' weaknesses: readable by the owner's group (a web server's),
        // never by everyone, even when the folder existed with wider rights.
        var folder = stat()
        if stat(options.out.path, &folder) == 0 { chmod(options.out.path, folder.st_mode & 0o7770) }
        var site = Site(data: data, out: options.out, includePeople: options.includePeople)
        site.nudgeStats = try NudgeStats.load(store)
        site.minGroupDevices = max(1, options.minGroupDevices)
        site.deviceThreshold = options.deviceChangeThreshold
        site.progress = progress
        try site.writeAll()
        return ReportResult(
            index: options.out.appendingPathComponent("index.html"), pages: site.pages, files: site.files,
            seconds: (ContinuousClock.now - start).seconds)
    }
}
