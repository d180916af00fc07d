import Foundation
import Logging
import StethoscopeCore
import StethoscopeSources
import StethoscopeTestSupport

/// Issue 20: owners from 10 million FreeRADIUS accounting records (a 30-day window of a 100,000-person company,
/// ~2.3 devices each plus personal phones), against `grep -c Calling-Station-Id` over the same files in the same
/// run (≥ 0.3×; each the better of two runs); the plugin's peak RSS is reset before it runs and printed with the identifiers it holds, next to
/// the bytes it read: memory follows identifiers, not records.
func benchAuthLogs() async throws {
    let people = 100_000
    let days = 30
    let records = 10_000_000
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stethoscope-authbench-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let end = 1_796_342_399  // 2026-12-03T23:59:59Z
    let generated = try writeDetailFiles(dir, people: people, days: days, records: records, end: end)

    // grep first and last (the better of the two counts), the plugin between: the same page cache for both.
    let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted().map { dir.appendingPathComponent($0).path }
    func grep() throws -> (Double, Int) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/grep")
        p.arguments = ["-c", "Calling-Station-Id"] + files
        let out = Pipe()
        p.standardOutput = out
        let t = Date()
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readAllRetrying(), as: UTF8.self)
        p.waitUntilExit()
        let s = Date().timeIntervalSince(t)
        return (s, text.split(separator: "\n").reduce(0) { $0 + (Int($1.split(separator: ":").last ?? "") ?? 0) })
    }
    let (grep1, counted) = try grep()
    guard counted == records else { throw BenchError(description: "grep counted \(counted) records, expected \(records)") }

    let config = try StethoscopeConfig.parse(
        yaml: """
            sources: [{name: d, type: demo, feed: jamf}]
            attribution:
              - {name: wifi, type: auth_logs, paths: ["\(dir.path)/detail-*"]}
            """)
    let plugin = try PluginRegistry.plugin(for: config.attribution[0]).attribution(config.attribution[0], PluginEnvironment(logger: Logger(label: "bench")))
    let figures = FigureCounter(kind: "attribution", plugin: "auth_logs")
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    let context = PullContext(asOf: "2026-12-03", now: Date(timeIntervalSince1970: Double(end)), figures: figures, logger: logger)
    let rssBefore = residentMegabytes()
    try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)  // resets the peak (VmHWM)
    let cpu0 = cpuSeconds()
    var t = Date()
    let assignments = try await plugin.assignments(context)
    var pluginSeconds = Date().timeIntervalSince(t)
    let cpu = cpuSeconds() - cpu0
    let peak = peakResidentMegabytes()
    let read = figures.snapshot().records
    guard read == records else { throw BenchError(description: "the plugin read \(read) records, expected \(records)") }
    let (grep2, _) = try grep()
    // The better of two runs for each, as for grep: the machine is shared and a run may wait for a core.
    t = Date()
    let again = try await plugin.assignments(
        PullContext(
            asOf: context.asOf, now: context.now,
            figures: FigureCounter(kind: "attribution", plugin: "auth_logs"), logger: logger))
    pluginSeconds = min(pluginSeconds, Date().timeIntervalSince(t))
    guard again.count == assignments.count else { throw BenchError(description: "the second read found \(again.count) identifiers") }
    let grepSeconds = min(grep1, grep2)
    let rate = Double(records) / pluginSeconds
    let grepRate = Double(records) / grepSeconds
    print(
        "auth_logs.records_per_s=\(Int(rate)) grep_records_per_s=\(Int(grepRate)) ratio=\(String(format: "%.2f", rate / grepRate)) "
            + "records=\(records) files=\(files.count) gb=\(String(format: "%.2f", Double(generated) / 1e9)) identifiers=\(assignments.count) "
            + "seconds=\(String(format: "%.2f", pluginSeconds)) cpu_s=\(String(format: "%.2f", cpu)) grep_s=\(String(format: "%.2f", grepSeconds)) "
            + "rss_before_mb=\(Int(rssBefore)) peak_rss_mb=\(Int(peak)) bytes_per_identifier=\(Int((peak - rssBefore) * 1_048_576 / Double(max(assignments.count, 1))))"
    )
}

/// `VmRSS` / `VmHWM` of this process in MB (Linux).
func residentMegabytes(_ field: String = "VmRSS:") -> Double {
    let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    for line in text.split(separator: "\n") where line.hasPrefix(field) {
        return Double(line.split(separator: " ").dropFirst().first ?? "0").map { $0 / 1024 } ?? 0
    }
    return 0
}
func peakResidentMegabytes() -> Double { residentMegabytes("VmHWM:") }

/// One detail file per day, records in time order, each as the `detail` module writes it (13 lines).
func writeDetailFiles(_ dir: URL, people: Int, days: Int, records: Int, end: Int) throws -> Int {
    var state: UInt64 = 0x5EED
    func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state >> 11
    }
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
    func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
    var total = 0
    let perDay = records / days
    let hex = Array("0123456789ABCDEF".utf8)
    for d in 0..<days {
        let dayStart = (end / 86_400 - days + 1 + d) * 86_400
        let civil = Date(timeIntervalSince1970: Double(dayStart))
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        let c = cal.dateComponents([.year, .month, .day], from: civil)
        let (y, m, dd) = (c.year!, c.month!, c.day!)
        let name = "detail-\(y)\(two(m))\(two(dd))"
        _ = FileManager.default.createFile(atPath: dir.appendingPathComponent(name).path, contents: nil)
        let handle = try FileHandle(forWritingTo: dir.appendingPathComponent(name))
        var buffer: [UInt8] = []
        buffer.reserveCapacity(8 << 20)
        let count = d == days - 1 ? records - perDay * (days - 1) : perDay
        for i in 0..<count {
            let t = dayStart + 7 * 3600 + i * (12 * 3600) / count
            let s = t % 86_400
            let time = "\(two(s / 3600)):\(two(s / 60 % 60)):\(two(s % 60))"
            let person = Int(next() % UInt64(people))
            // ~2.3 devices a person (laptop, phone, sometimes a second laptop or a tablet, personal phones).
            let device = Int(next() % 7) < 3 ? 0 : (Int(next() % 10) < 9 ? 1 : 2 + Int(next() % 2))
            let mac = UInt64(0x3C22FB + device) << 24 | UInt64(person)
            var macText: [UInt8] = []
            for o in 0..<6 {
                if o > 0 { macText.append(45) }
                let byte = Int((mac >> UInt64(40 - 8 * o)) & 0xFF)
                macText.append(hex[byte >> 4])
                macText.append(hex[byte & 15])
            }
            let weekday = weekdays[(t / 86_400) % 7]
            let day = dd < 10 ? " \(dd)" : "\(dd)"
            var text = "\(weekday) \(months[m - 1]) \(day) \(time) \(y)\n"
            text += "\tAcct-Session-Id = \"\(String(next() & 0xFFFF_FFFF, radix: 16))\"\n"
            text += "\tUser-Name = \"user\(person)@example.com\"\n"
            text += "\tNAS-IP-Address = 10.1.\(person % 250).\(1 + person % 7)\n\tNAS-Port-Type = Wireless-802.11\n"
            text += "\tAcct-Status-Type = \(i % 5 == 0 ? "Start" : "Interim-Update")\n"
            text += "\tCalling-Station-Id = \""
            buffer.append(contentsOf: text.utf8)
            buffer.append(contentsOf: macText)
            text = "\"\n\tCalled-Station-Id = \"B4-FB-E4-00-00-0\(person % 8):corp-wifi\"\n"
            text += "\tFramed-IP-Address = 10.20.\(person % 250).\(device + 10)\n\tAcct-Input-Octets = \(next() % 10_000_000)\n"
            text += "\tEvent-Timestamp = \"\(months[m - 1]) \(two(dd)) \(y) \(time) UTC\"\n\tTimestamp = \(t)\n\n"
            buffer.append(contentsOf: text.utf8)
            if buffer.count > 8 << 20 {
                handle.write(Data(buffer))
                total += buffer.count
                buffer.removeAll(keepingCapacity: true)
            }
        }
        handle.write(Data(buffer))
        total += buffer.count
        try handle.close()
    }
    return total
}
