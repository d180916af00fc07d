import Foundation
import StethoscopeCore
import StethoscopeHTTP

/// Hosts from Fleet (osquery fleet manager): Linux, and any other osquery host.
public enum FleetPlugin: SourcePlugin {
    public static let type = "fleet"
    public static func deviceSource(_ config: PluginConfig, _ env: PluginEnvironment) throws -> any DeviceSource {
        try FleetSource(config, http: env.http)
    }
}

struct FleetSource: DeviceSource {
    let name: String
    let http: SourceHTTP
    let pageSize: Int
    let teamID: Int?
    /// Fleet policy name → practice key.
    let policies: [String: String]
    /// Fetch host detail for `disk_encryption_enabled` when neither a policy nor MDM settled encryption.
    let encryptionDetail: Bool
    let detailConcurrency: Int

    static let defaultPolicies: [String: String] = [:]

    init(_ config: PluginConfig, http client: HTTPClient) throws {
        let s = config.section
        name = config.name
        let url = try s.httpURL("url")
        let token = try s.requiredSecret("token")
        pageSize = try s.int("page_size", default: 100, min: 1, max: 10_000)
        teamID = try s.optionalInt("team_id", min: 0, max: Int(Int32.max))
        var map: [String: String] = [:]
        if let p = try s.section("policies") {
            for key in p.keys { map[key] = try p.string(key) }
            try p.finish()
        }
        policies = map
        encryptionDetail = try s.bool("encryption_detail", default: true)
        detailConcurrency = try s.int("detail_concurrency", default: 4, min: 1, max: 32)
        let options = try HTTPOptions.read(s, defaultConnections: 4, defaultRetry: .fleet)
        try s.finish()
        http = SourceHTTP(client: client, source: name, baseURL: url, auth: StaticBearer(token: token), options: options)
    }

    var filter: String { teamID.map { "&team_id=\($0)" } ?? "" }

    func pagePath(_ page: Int, perPage: Int) -> String {
        "/api/v1/fleet/hosts?page=\(page)&per_page=\(perPage)&order_key=id&order_direction=asc&populate_policies=true&device_mapping=true" + filter
    }

    func fetchPage(_ page: Int, perPage: Int, _ context: PullContext) async throws -> [FleetHost] {
        let hosts = try await http.getJSON(
            FleetHostsPage.self, pagePath(page, perPage: perPage), label: "page \(page)", what: "hosts page \(page)",
            figures: context.figures
        ).hosts
        context.figures.page(records: hosts.count)
        return hosts
    }

    func count(_ context: PullContext) async throws -> Int {
        try await http.getJSON(
            FleetCount.self, "/api/v1/fleet/hosts/count?" + filter.dropFirst(), label: "count", what: "hosts count",
            figures: context.figures
        ).count
    }

    /// `/hosts` returns no total: `/hosts/count` sizes the crawl so pages can be fetched concurrently, and
    /// paging ends as the docs say, at the first page with fewer than `per_page` hosts. The hosts received are
    /// then checked against the count: a server that silently clamps `per_page` (sending fewer per page than
    /// asked, so the first page already looks like the last) is re-paged with the page size it actually
    /// sent, and if hosts are still missing (and a fresh count agrees they should be there) the source fails
    /// rather than writing a partial list as complete.
    func pull(_ context: PullContext) async throws -> [SourceRecord] {
        let count = try await count(context)
        var crawl = try await crawl(perPage: pageSize, count: count, context)
        if crawl.hosts.count < count, crawl.largestPage > 0, crawl.largestPage < pageSize {
            context.logger.warning(
                "\(name): asked for \(pageSize) hosts per page, the server sent \(crawl.largestPage); paging again with \(crawl.largestPage)")
            crawl = try await self.crawl(perPage: crawl.largestPage, count: count, context)
        }
        if crawl.hosts.count < count {
            let recount = try await self.count(context)
            if crawl.hosts.count < recount {
                throw SourceError(name, "received \(crawl.hosts.count) hosts but /hosts/count says \(recount): the host list is incomplete")
            }
        }
        var records = crawl.hosts.map { FleetMapping.record($0, source: name, policies: policies) }
        if encryptionDetail { try await addEncryptionDetail(&records, context) }
        context.figures.setRecords(records.count)
        return records
    }

    /// Every page of `perPage` hosts: those `count` implies concurrently, then on while the last one is full.
    func crawl(perPage: Int, count: Int, _ context: PullContext) async throws -> (hosts: [FleetHost], largestPage: Int) {
        let pages = max(1, (count + perPage - 1) / perPage)
        var byPage: [[FleetHost]] = Array(repeating: [], count: pages)
        try await withThrowingTaskGroup(of: (Int, [FleetHost]).self) { group in
            for page in 0..<pages { group.addTask { (page, try await fetchPage(page, perPage: perPage, context)) } }
            for try await (page, hosts) in group { byPage[page] = hosts }
        }
        while byPage[byPage.count - 1].count == perPage {
            byPage.append(try await fetchPage(byPage.count, perPage: perPage, context))
        }
        return (Array(byPage.joined()), byPage.map(\.count).max() ?? 0)
    }

    /// Host detail only where the list left encryption open, at most `detailConcurrency` at a time. A host
    /// deleted since the list was read answers 404: it keeps what the list said, and encryption is unknown
    /// with that reason; the source goes on.
    func addEncryptionDetail(_ records: inout [SourceRecord], _ context: PullContext) async throws {
        let needed = records.indices.filter { i in !records[i].observations.contains { $0.practice == "encryption" } }
        try await withThrowingTaskGroup(of: (Int, Observation?).self) { group in
            var next = needed.makeIterator()
            func launch() {
                guard let i = next.next() else { return }
                let id = records[i].localID
                group.addTask {
                    let what = "host \(id)"
                    do {
                        let host = try await http.getJSON(
                            FleetHostDetail.self, "/api/v1/fleet/hosts/\(id)?exclude_software=true", label: what,
                            what: what, figures: context.figures
                        ).host
                        return (i, FleetMapping.detailEncryption(host))
                    } catch let error as HTTPError where error.status == 404 {
                        context.logger.info("\(name): \(what) is gone (404) since the list was read; encryption left unknown")
                        return (
                            i,
                            Observation(
                                "encryption", satisfied: nil, value: "host detail not found (404)",
                                details: "host deleted from Fleet during the crawl")
                        )
                    }
                }
            }
            for _ in 0..<detailConcurrency { launch() }
            while let (i, observation) = try await group.next() {
                if let observation { records[i].observations.append(observation) }
                launch()
            }
        }
    }

    func check(_ context: PullContext) async throws -> String {
        let me = try await http.getJSON(FleetMe.self, "/api/v1/fleet/me", label: "check", what: "me", figures: context.figures)
        let count = try await count(context)
        return "ok: \(count) hosts, authenticated as \(me.user.email ?? me.user.name ?? "API user")"
    }
}

enum FleetMapping {
    static func platform(_ platform: String?) -> Platform? {
        switch platform?.lowercased() {
        case "darwin": return .mac
        case "windows": return .windows
        case "chrome": return .chromeOS
        case "ios", "ipados": return .iOS
        case "android": return .android
        case nil, "": return nil
        default:
            // ubuntu, rhel, debian, centos, fedora, arch, amzn, ...: every other osquery platform is a Linux.
            return .linux
        }
    }

    /// `"macOS 14.4.1"` → ("macOS", "14.4.1"); the version is the last word starting with a digit and holding a dot.
    static func splitOS(_ text: String?) -> (name: String?, version: String?) {
        guard let text, !text.isEmpty else { return (nil, nil) }
        let words = text.split(separator: " ")
        guard let i = words.lastIndex(where: { $0.first?.isNumber == true && $0.contains(".") }) else { return (text, nil) }
        let name = words[..<i].joined(separator: " ")
        return (name.isEmpty ? nil : name, String(words[i]))
    }

    /// A Fleet timestamp, or nil for its "never" values: Go's zero time (`0001-01-01T00:00:00Z`) and the
    /// epoch-like defaults (`1970-01-01…`, `1970-01-02…`) are absent, not observations from 1970.
    static func time(_ text: String?) -> Date? {
        guard let date = ISODate.parse(text), date >= neverBefore else { return nil }
        return date
    }
    static let neverBefore = Date(timeIntervalSince1970: 365 * 86_400)  // 1971-01-01

    static let ownerOrder = ["identity_provider", "custom", "google_chrome_profiles"]

    static func record(_ h: FleetHost, source: String, policies map: [String: String]) -> SourceRecord {
        let os = splitOS(h.os_version)
        var r = SourceRecord(
            source: source, localID: String(h.id), platform: platform(h.platform),
            osName: os.name, osVersion: os.version, model: h.hardware_model,
            deviceName: h.display_name ?? h.computer_name ?? h.hostname)
        r.lastSync = time(h.seen_time)
        if let s = h.hardware_serial, !s.isEmpty { r.identifiers.append(RawIdentifier(.serial, s)) }
        if let u = h.uuid, !u.isEmpty { r.identifiers.append(RawIdentifier(.udid, u)) }
        if let m = h.primary_mac, !m.isEmpty { r.identifiers.append(RawIdentifier(.mac, m)) }
        let owners = (h.device_mapping ?? []).sorted {
            (ownerOrder.firstIndex(of: $0.source ?? "") ?? 9) < (ownerOrder.firstIndex(of: $1.source ?? "") ?? 9)
        }
        r.ownerHints = owners.map { OwnerHint(.email, $0.email) }

        // Policies mapped to one practice must all pass; unanswered ("") policies say nothing.
        let policyAt = time(h.policy_updated_at)
        var verdicts: [String: (ok: Bool, names: [String], failing: [String])] = [:]
        for p in h.policies ?? [] {
            guard let practice = map[p.name], let response = p.response, response == "pass" || response == "fail" else { continue }
            var v = verdicts[practice] ?? (true, [], [])
            v.names.append(p.name)
            if response == "fail" {
                v.ok = false
                v.failing.append(p.name)
            }
            verdicts[practice] = v
        }
        for (practice, v) in verdicts.sorted(by: { $0.key < $1.key }) {
            let value = v.ok ? "passing: " + v.names.joined(separator: ", ") : "failing: " + v.failing.joined(separator: ", ")
            r.observations.append(Observation(practice, satisfied: v.ok, value: value, details: "Fleet policy", observedAt: policyAt))
        }
        if verdicts["encryption"] == nil, let status = h.mdm?.os_settings?.disk_encryption?.status, !status.isEmpty {
            r.observations.append(
                Observation(
                    "encryption", satisfied: status == "verified", value: "disk encryption \(status.replacingOccurrences(of: "_", with: " "))",
                    details: "Fleet MDM OS settings", observedAt: time(h.detail_updated_at)))
        }
        return r
    }

    static func detailEncryption(_ h: FleetHost) -> Observation? {
        guard let on = h.disk_encryption_enabled else { return nil }
        return Observation(
            "encryption", satisfied: on, value: on ? "disk encrypted" : "disk not encrypted", details: "Fleet host detail",
            observedAt: time(h.detail_updated_at))
    }
}
