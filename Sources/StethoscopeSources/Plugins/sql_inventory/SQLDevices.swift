import Foundation
import StethoscopeCore

/// How rows become practice observations: finding ids, the database's time zone, the platform.
struct SQLInterpretation: Sendable {
    var platform: Platform = .windows
    var screenLockFindings: [String] = ["ST000202"]
    var autoUpdatesFindings: [String] = ["ST000003v2"]
    var timestamps = SQLTimestamp(timeZone: TimeZone(identifier: "UTC")!)
}

/// The lists the queries gave for one device so far (its scalars live in `SQLDeviceSet.scalars`);
/// `record` turns both into a `SourceRecord`.
struct DeviceRows {
    var macs: [String] = []
    /// BitLocker volumes, each once (an array: a device has one or two).
    var volumes: [Volume] = []
    var firewall: [(on: Bool, raw: String)] = []
    var software: [Software] = []
    var softwareSeen: Set<Software> = []
    var findings: [(id: String, reason: String?)] = []

    struct Volume: Hashable { var protection: String?, conversion: String?, percent: String? }
}

/// One device's scalar fields, read from the set's flat storage while its record is built.
struct DeviceScalars {
    let storage: ContiguousArray<String?>
    let base: Int
    let slots: [Int]

    subscript(_ f: SQLField) -> String? {
        let s = slots[f.index]
        return s < 0 ? nil : storage[base + s]
    }
}

/// Folds the rows of every query into devices keyed by `id`, in order of first appearance.
struct SQLDeviceSet {
    var byID: [String: Int] = [:]
    var devices: [DeviceRows] = []
    /// Column of each scalar field in a device's run of `scalars` (by `SQLField.index`), -1 when no query fills it.
    let slots: [Int]
    let width: Int
    /// Every device's scalar fields, `width` per device, in one array: one small array per device cost as
    /// much to allocate and free as the rest of the fold.
    private(set) var scalars: ContiguousArray<String?> = []
    /// Records already built, by slot: `nil` until built, and again when a later row changes the device.
    var records: [SourceRecord?] = []
    var softwareInventoried = false
    var findingsQueried = false
    var orphanRows = 0
    /// The device whose rows the last query is handing out now (see `streamed`).
    private var streaming: Int?

    /// A set for rows that fill `fields` (the id always).
    init(fields: some Sequence<SQLField>) {
        var slots = [Int](repeating: -1, count: SQLField.allCases.count)
        var width = 0
        for f in [SQLField.id] + fields.filter({ !$0.isList && $0 != .id }).sorted(by: { $0.index < $1.index }) where slots[f.index] < 0 {
            slots[f.index] = width
            width += 1
        }
        self.slots = slots
        self.width = width
    }

    /// What `add` did with a row.
    enum Added: Equatable {
        /// No id: the row names no device.
        case noID
        /// The id is not a device of the `devices` query.
        case orphan
        case device(Int)
    }

    /// The values of one row, by field (`nil`: NULL or not mapped). A row of `devices` may create a device.
    mutating func add(_ values: [(SQLField, String?)], creates: Bool) -> Added {
        guard let idIndex = values.firstIndex(where: { $0.0 == .id }), let id = values[idIndex].1, !id.isEmpty else { return .noID }
        let slot: Int
        // One hash for a new id (the common case): insert, and put the old slot back if there was one.
        if creates, let old = byID.updateValue(devices.count, forKey: id) {
            byID[id] = old
            slot = old
            records[old] = nil
        } else if creates {
            slot = devices.count
            devices.append(DeviceRows())
            records.append(nil)
            scalars.append(id)
            for _ in 1..<width { scalars.append(nil) }
        } else if let i = byID[id] {
            slot = i
            records[i] = nil
        } else {
            orphanRows += 1
            return .orphan
        }
        var volume = DeviceRows.Volume()
        var software: (name: String, version: String?)?
        var finding: (id: String, reason: String?)?
        let base = slot * width
        devices[slot].withRows { d in
            for (field, value) in values {
                guard let value, !value.isEmpty else { continue }
                switch field {
                case .mac: d.macs.append(value)
                case .bitlockerProtection: volume.protection = value
                case .bitlockerConversion: volume.conversion = value
                case .bitlockerPercent: volume.percent = value
                case .firewall: if let on = Flag.parse(value) { d.firewall.append((on, value)) }
                case .firewallProductState:
                    if let state = Int(value) { d.firewall.append(((state >> 12) & 1 == 1, "productState \(state)")) }
                case .softwareName: software = (value, software?.version)
                case .softwareVersion: software = (software?.name ?? "", value)
                case .findingID: finding = (value, finding?.reason)
                case .findingReason: finding = (finding?.id ?? "", value)
                default:
                    let s = slots[field.index]
                    if s >= 0 && scalars[base + s] == nil { scalars[base + s] = value }
                }
            }
            if volume != DeviceRows.Volume() && !d.volumes.contains(volume) { d.volumes.append(volume) }
            if let software, !software.name.isEmpty {
                let s = Software(software.name, version: software.version)
                if d.softwareSeen.insert(s).inserted { d.software.append(s) }
            }
            if let finding, !finding.id.isEmpty { d.findings.append(finding) }
        }
        return .device(slot)
    }

    /// A row of the last query touched `slot`: the device before it is built once the rows move on to
    /// another device (joins hand out a device's rows together), while the driver fetches the next block;
    /// a device touched again later is built again at the end.
    mutating func streamed(_ slot: Int, source: String, _ how: SQLInterpretation) {
        guard slot != streaming else { return }
        if let done = streaming { build(done, source: source, how) }
        streaming = slot
    }

    /// Every record, built (those not built yet now), moved out of the set.
    mutating func takeRecords(source: String, _ how: SQLInterpretation) -> [SourceRecord] {
        var out: [SourceRecord] = []
        out.reserveCapacity(records.count)
        for slot in records.indices {
            build(slot, source: source, how)
            out.append(records[slot].take()!)
        }
        return out
    }

    /// Builds the record of `slot` unless it is built and unchanged since.
    mutating func build(_ slot: Int, source: String, _ how: SQLInterpretation) {
        guard records[slot] == nil else { return }
        records[slot] = devices[slot].record(
            DeviceScalars(storage: scalars, base: slot * width, slots: slots), source: source, how,
            softwareInventoried: softwareInventoried, findingsQueried: findingsQueried)
    }
}

extension DeviceRows {
    /// In-place edit without copying the arrays (the device is mutated through its array slot).
    mutating func withRows(_ body: (inout DeviceRows) -> Void) { body(&self) }

    func record(_ v: DeviceScalars, source: String, _ how: SQLInterpretation, softwareInventoried: Bool, findingsQueried: Bool) -> SourceRecord {
        let ts = how.timestamps
        var r = SourceRecord(
            source: source, localID: v[.id] ?? "", platform: how.platform, osName: v[.osName],
            deviceName: v[.name])
        r.osVersion =
            how.platform == .windows
            ? WindowsVersion.compose(build: v[.osBuild], version: v[.osVersion], release: v[.osRelease], osName: v[.osName]) ?? v[.osVersion]
            : v[.osVersion]
        // Lenovo keeps the friendly model ("ThinkPad T14 Gen 3") in SYSTEMVERSION and a type code in MODEL.
        if let maker = v[.manufacturer], maker.uppercased().hasPrefix("LENOVO"), let friendly = v[.systemVersion] {
            r.model = friendly
        } else {
            r.model = v[.model]
        }
        let lastSync = v[.lastSync].flatMap(ts.parse)
        let hwScan = v[.hwScan].flatMap(ts.parse)
        let swScan = v[.swScan].flatMap(ts.parse)
        r.lastSync = [lastSync, hwScan, swScan].compactMap { $0 }.max()
        if let s = v[.serial] { r.identifiers.append(RawIdentifier(.serial, s)) }
        if let d = v[.deviceID] { r.identifiers.append(RawIdentifier(.deviceID, d)) }
        for m in macs { r.identifiers.append(RawIdentifier(.mac, m)) }
        if let e = v[.email] { r.ownerHints.append(OwnerHint(.email, e)) }
        if let u = v[.upn] { r.ownerHints.append(OwnerHint(.upn, u)) }
        if let u = v[.username] { r.ownerHints.append(OwnerHint(.username, u)) }

        let hwAt = hwScan ?? lastSync
        let swAt = swScan ?? lastSync
        if let e = encryption() { r.observations.append(Observation("encryption", satisfied: e.ok, value: e.value, observedAt: hwAt)) }
        if !firewall.isEmpty {
            let off = firewall.filter { !$0.on }
            r.observations.append(
                Observation(
                    "firewall", satisfied: off.isEmpty,
                    value: off.isEmpty ? "on" : "off: " + Set(off.map(\.raw)).sorted().joined(separator: ", "),
                    details: "\(firewall.count) reading\(firewall.count == 1 ? "" : "s")", observedAt: hwAt))
        }
        for (practice, field, findingIDs) in [
            ("screen_lock", SQLField.screenLock, how.screenLockFindings),
            ("auto_updates", SQLField.autoUpdates, how.autoUpdatesFindings)
        ] {
            if let raw = v[field], let on = Flag.parse(raw) {
                r.observations.append(Observation(practice, satisfied: on, value: raw, observedAt: hwAt))
            } else if findingsQueried {
                let hits = findings.filter { f in findingIDs.contains { $0.caseInsensitiveCompare(f.id) == .orderedSame } }
                let reasons = hits.compactMap(\.reason).filter { !$0.isEmpty }
                r.observations.append(
                    Observation(
                        practice, satisfied: hits.isEmpty,
                        value: hits.isEmpty ? "no finding" : "finding " + Set(hits.map(\.id)).sorted().joined(separator: ", "),
                        details: reasons.isEmpty ? nil : String(reasons.joined(separator: "; ").prefix(500)),
                        observedAt: swAt))
            }
        }
        if let raw = v[.remoteLogin], let on = Flag.parse(raw) {
            r.observations.append(Observation("remote_login", satisfied: !on, value: "remote login \(on ? "on" : "off")", observedAt: hwAt))
        }
        r.software = softwareInventoried ? software : nil
        return r
    }

    /// BitLocker per volume row: protection on, fully encrypted (conversion 1) and 100 % where reported.
    /// Every volume must pass; a volume whose protection is unknown makes the verdict unknown.
    func encryption() -> (ok: Bool?, value: String)? {
        guard !volumes.isEmpty else { return nil }
        var verdicts: [Bool?] = []
        var text = ""
        text.reserveCapacity(96 * volumes.count)
        let ordered =
            volumes.count == 1
            ? volumes
            : volumes.sorted { ($0.protection ?? "", $0.conversion ?? "", $0.percent ?? "") < ($1.protection ?? "", $1.conversion ?? "", $1.percent ?? "") }
        for v in ordered {
            let protection = v.protection.flatMap(Flag.parse)
            let conversion = v.conversion.flatMap(Flag.leadingInt)
            let percent = v.percent.flatMap { Double($0) }
            var ok: Bool? = protection
            if conversion.map({ $0 != 1 }) == true || percent.map({ $0 < 100 }) == true { ok = false }
            verdicts.append(ok)
            if !text.isEmpty { text += "; " }
            text += "BitLocker"
            var separator = " "
            if let p = v.protection {
                text += separator + "protection " + p
                separator = ", "
            }
            if let c = v.conversion {
                text += separator + "conversion " + c
                separator = ", "
            }
            if let p = percent { text += separator + String(Int(p)) + "% encrypted" }
        }
        let ok: Bool? = verdicts.contains(false) ? false : verdicts.contains(where: { $0 == nil }) ? nil : true
        return (ok, text)
    }
}
