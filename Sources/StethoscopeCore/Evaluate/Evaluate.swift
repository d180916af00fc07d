import Foundation

/// Stages 3 and 4 of the night for one merged group: asks `OwnerAttribution` who owns it (stage 3), merges its
/// fields and evaluates every practice (stage 4), giving the night's `DeviceSnapshot`s. Works one group at a time
/// so the store can write as devices are produced.
public struct NightEvaluator: Sendable {
    public var practices: [PracticeDefinition]
    public var asOf: String
    public var now: Date
    public var staleAfterDays: Int
    /// Stage 3: who owns each device.
    public var owners: OwnerAttribution
    private let practiceIndex: [String: Int]
    private let softwareNames: [[String]]
    /// Per practice and platform (`Platform.allCases` order), the os_version rule in force on the as-of date,
    /// parsed once per night instead of once per device.
    private let versionRules: [[ParsedRule?]]

    /// A `VersionRule` read for one platform, with the details its results give.
    struct ParsedRule: Sendable {
        var required: VersionNumber?
        var requiredDetails: String
        var recommended: VersionNumber?
        var recommendedDetails: String
    }

    public init(
        practices: PracticeSet, asOf: String, now: Date, staleAfterDays: Int, orgChart: OrgChart,
        attribution: [Identifier: (email: String, via: String)] = [:], attributionPrecedence: [String] = [],
        evidence: [Identifier: OwnerEvidence] = [:]
    ) {
        self.practices = practices.enabled
        self.asOf = asOf
        self.now = now
        self.staleAfterDays = staleAfterDays
        owners = OwnerAttribution(
            orgChart: orgChart, attribution: attribution, precedence: attributionPrecedence,
            evidence: evidence)
        var index: [String: Int] = [:]
        for (i, p) in self.practices.enumerated() { index[p.key] = i }
        practiceIndex = index
        softwareNames = self.practices.map { p in
            if case .software(let rule) = p.check { return rule.names.map { $0.lowercased() } }
            return []
        }
        versionRules = self.practices.map { p in
            guard case .osVersion(let rules) = p.check else { return [] }
            return Platform.allCases.map { platform in
                guard let r = (rules[platform] ?? []).last(where: { ($0.from ?? "") <= asOf }),
                    r.required != nil || r.recommended != nil
                else { return nil }
                let required = r.required.flatMap { Self.parse($0, platform) }
                let recommended = r.recommended.flatMap { Self.parse($0, platform) }
                return ParsedRule(
                    required: required, requiredDetails: required.map { "below required \(Self.named($0, platform))" } ?? "",
                    recommended: recommended,
                    recommendedDetails: recommended.map { "below recommended \(Self.named($0, platform))" } ?? "")
            }
        }
    }

    /// Windows comes as builds, release ids or kernel versions; WindowsVersion puts them on one scale.
    static func parse(_ text: String, _ platform: Platform) -> VersionNumber? {
        platform == .windows ? WindowsVersion.number(text) : VersionNumber(text)
    }

    public func evaluate(_ group: MergedGroup, _ records: [SourceRecord]) -> DeviceSnapshot {
        let recs = group.records.map { records[$0] }  // most recent first
        func first<T>(_ f: (SourceRecord) -> T?) -> T? {
            for r in recs { if let v = f(r) { return v } }
            return nil
        }
        let platform = first(\.platform)
        let lastSync = recs.compactMap(\.lastSync).max()
        let stale = lastSync.map { now.timeIntervalSince($0) > Double(staleAfterDays) * 86400 } ?? true

        let owner = owners.owner(of: group, records: recs)
        let sources = Array(Set(recs.map(\.source))).sorted()
        return DeviceSnapshot(
            key: group.key, platform: platform, osName: first(\.osName), osVersion: first(\.osVersion),
            model: first(\.model), deviceName: first(\.deviceName), identifiers: group.identifiers,
            sources: sources, records: recs.map(label).sorted(), lastSync: lastSync, owner: owner.email,
            ownerMethod: owner.method, ownerVia: owner.via, stale: stale, isVirtual: recs.contains { $0.isVirtual },
            results: results(recs, platform: platform, osName: first(\.osName), osVersion: first(\.osVersion)),
            ownerReason: owner.reason, evidence: owner.evidence)
    }

    private func results(_ recs: [SourceRecord], platform: Platform?, osName: String?, osVersion: String?) -> [PracticeResult] {
        // The most recent observation of each practice across the device's records.
        var best = [(obs: Observation, source: String, at: Date)?](repeating: nil, count: practices.count)
        for r in recs {
            for o in r.observations {
                guard let i = practiceIndex[o.practice] else { continue }
                let at = o.observedAt ?? r.lastSync ?? .distantPast
                if let b = best[i], b.at >= at { continue }
                best[i] = (o, r.source, at)
            }
        }
        return practices.enumerated().map { i, p in
            guard let platform else {
                return PracticeResult(practice: p.key, status: p.onMissing, details: "platform not known")
            }
            guard p.platforms.contains(platform) else { return PracticeResult(practice: p.key, status: .na) }
            switch p.check {
            case .osVersion:
                // A source that knows the OS gets no more updates (a Chromebook past its auto-update expiration)
                // fails the practice whatever the version number says.
                if let b = best[i], b.obs.satisfied == false { return observed(p, b, platform) }
                return versionResult(
                    p, platform: platform, osName: osName, version: osVersion,
                    rule: versionRules[i][Platform.allCases.firstIndex(of: platform)!], recs: recs)
            case .software(let rule):
                if let b = best[i] { return observed(p, b, platform) }
                return softwareResult(p, rule: rule, names: softwareNames[i], platform: platform, recs: recs)
            case .observation:
                if let b = best[i] { return observed(p, b, platform) }
                return PracticeResult(practice: p.key, status: p.onMissing, details: "no source reported it")
            }
        }
    }

    private func observed(_ p: PracticeDefinition, _ b: (obs: Observation, source: String, at: Date), _ platform: Platform) -> PracticeResult {
        let status: Status = b.obs.notApplicable ? .na : b.obs.satisfied.map { $0 ? .ok : p.failStatus(on: platform) } ?? p.onMissing
        return PracticeResult(
            practice: p.key, status: status, value: b.obs.value, details: b.obs.details,
            observedAt: b.at == .distantPast ? nil : b.at, source: b.source)
    }

    /// The rule in force on the as-of date: the last one whose `from` is not after it.
    func rule(_ rules: [VersionRule]) -> VersionRule? {
        rules.last { ($0.from ?? "") <= asOf }
    }

    private func versionResult(
        _ p: PracticeDefinition, platform: Platform, osName: String?, version: String?, rule: ParsedRule?,
        recs: [SourceRecord]
    ) -> PracticeResult {
        let source = recs.first { $0.osVersion != nil }
        func parse(_ text: String) -> VersionNumber? { Self.parse(text, platform) }
        // Windows known only by its name ("Microsoft Windows 7", no build): a product that gets no security
        // updates at all fails whatever the version rule says, as it would with its version.
        if platform == .windows, version.flatMap(parse).map({ $0.parts.count < 3 }) ?? true {
            for text in [version, osName].compactMap({ $0 }) {
                guard let name = WindowsVersion.unsupportedProduct(named: text) else { continue }
                let named = recs.first { $0.osVersion == text || $0.osName == text }
                return PracticeResult(
                    practice: p.key, status: p.failStatus(on: platform), value: text,
                    details: "unsupported Windows: \(name) gets no security updates (known by name only)",
                    observedAt: named?.lastSync, source: named?.source)
            }
        }
        guard let text = version, let v = parse(text) else {
            return PracticeResult(practice: p.key, status: p.onMissing, value: version, details: "no OS version reported")
        }
        let at = source?.lastSync
        let src = source?.source
        if platform == .windows, let name = WindowsVersion.unsupported(v) {
            return PracticeResult(
                practice: p.key, status: p.failStatus(on: platform), value: text,
                details: "unsupported Windows: \(name) (\(v)) gets no security updates", observedAt: at, source: src)
        }
        guard let r = rule else {
            return PracticeResult(
                practice: p.key, status: p.onMissing, value: text,
                details: "no version rule for \(platform.rawValue)", observedAt: at, source: src)
        }
        if let req = r.required, v < req {
            return PracticeResult(
                practice: p.key, status: p.failStatus(on: platform), value: text,
                details: r.requiredDetails, observedAt: at, source: src)
        }
        if let rec = r.recommended, v < rec {
            return PracticeResult(
                practice: p.key, status: .nudge, value: text,
                details: r.recommendedDetails, observedAt: at, source: src)
        }
        return PracticeResult(practice: p.key, status: .ok, value: text, observedAt: at, source: src)
    }

    /// `text.contains(word)`: for ASCII text and a non-empty ASCII word (the usual case) a byte search, which answers
    /// the same as Foundation's search without its cost (it was a tenth of a night's evaluation); Foundation's otherwise.
    static func contains(_ text: String, _ word: String) -> Bool {
        var text = text
        var word = word
        let fast: Bool? = text.withUTF8 { t in
            word.withUTF8 { w -> Bool? in
                guard !w.isEmpty, t.allSatisfy({ $0 < 0x80 }), w.allSatisfy({ $0 < 0x80 }) else { return nil }
                guard w.count <= t.count else { return false }
                let first = w[0]
                var i = 0
                let last = t.count - w.count
                while i <= last {
                    if t[i] == first {
                        var j = 1
                        while j < w.count && t[i + j] == w[j] { j += 1 }
                        if j == w.count { return true }
                    }
                    i += 1
                }
                return false
            }
        }
        return fast ?? text.contains(word)
    }

    /// "10.0.19045 (Windows 10 22H2)" for known Windows builds, else the bare version.
    private static func named(_ v: VersionNumber, _ platform: Platform) -> String {
        guard platform == .windows, let name = WindowsVersion.releaseName(v) else { return v.description }
        return "\(v) (\(name))"
    }

    private func softwareResult(
        _ p: PracticeDefinition, rule: SoftwareRule, names: [String], platform: Platform,
        recs: [SourceRecord]
    ) -> PracticeResult {
        var inventoried: SourceRecord?
        var found: (Software, SourceRecord)?
        for r in recs {
            guard r.software != nil || r.services != nil else { continue }
            inventoried = inventoried ?? r
            for s in (r.software ?? []) + (r.services ?? []) {
                let lower = s.name.lowercased()
                if names.contains(where: { Self.contains(lower, $0) }) {
                    // Prefer the highest version found across records.
                    if let f = found, let a = f.0.version.flatMap(VersionNumber.init),
                        let b = s.version.flatMap(VersionNumber.init), b <= a
                    {
                        continue
                    }
                    found = (s, r)
                }
            }
        }
        guard let inventoried else {
            return PracticeResult(practice: p.key, status: p.onMissing, details: "no software inventory")
        }
        guard let (sw, r) = found else {
            return PracticeResult(
                practice: p.key, status: p.failStatus(on: platform), value: nil,
                details: "not installed", observedAt: inventoried.lastSync, source: inventoried.source)
        }
        let value = sw.version.map { "\(sw.name) \($0)" } ?? sw.name
        if let min = rule.minimumVersion.flatMap(VersionNumber.init) {
            guard let have = sw.version.flatMap(VersionNumber.init) else {
                return PracticeResult(
                    practice: p.key, status: p.onMissing, value: value,
                    details: "version unknown, minimum \(min)", observedAt: r.lastSync, source: r.source)
            }
            if have < min {
                return PracticeResult(
                    practice: p.key, status: p.failStatus(on: platform), value: value,
                    details: "below minimum \(min)", observedAt: r.lastSync, source: r.source)
            }
        }
        return PracticeResult(practice: p.key, status: .ok, value: value, observedAt: r.lastSync, source: r.source)
    }
}
