import Foundation
import StethoscopeCore
import StethoscopeHTTP

/// Macs from Jamf Pro: the Pro API inventory list (or, in `classic` mode, `/JSSResource`).
public enum JamfPlugin: SourcePlugin {
    public static let type = "jamf"
    public static func deviceSource(_ config: PluginConfig, _ env: PluginEnvironment) throws -> any DeviceSource {
        try JamfSource(config, http: env.http)
    }
}

/// Which API a Jamf source reads (`mode`).
enum JamfMode: String, CaseIterable, Sendable {
    /// The Jamf Pro API's inventory list (bearer tokens).
    case pro
    /// The Classic API, `/JSSResource` (older and on-premises servers; takes Basic auth too).
    case classic
}

/// One Jamf Pro server.
struct JamfSource: DeviceSource {
    let name: String
    let http: SourceHTTP
    let mode: JamfMode
    let apiVersion: String
    let pageSize: Int
    let sort: String
    let sections: [String]
    let mapping: JamfMapping

    init(_ config: PluginConfig, http client: HTTPClient) throws {
        let s = config.section
        name = config.name
        let url = try s.httpURL("url")
        mode = try s.choice("mode", default: JamfMode.pro)
        let auth: any HTTPAuth
        if try s.choice("auth", ["token", "basic"], default: "token") == "basic" {
            // Older and on-premises servers without `/api/v1/auth/token` still take Basic on the Classic API.
            guard mode == .classic else { throw s.error("auth", "basic works with mode: classic only (the Pro API takes bearer tokens)") }
            guard let user = try s.optionalString("username") else { throw s.error("username", "auth: basic needs username + password") }
            auth = HTTPBasic(user: user, password: try s.requiredSecret("password"))
        } else if let clientID = try s.optionalString("client_id") {
            auth = OAuthClientCredentials(tokenURL: "/api/oauth/token", clientID: clientID, clientSecret: try s.requiredSecret("client_secret"))
        } else if let user = try s.optionalString("username") {
            auth = JamfUserAuth(user: user, password: try s.requiredSecret("password"))
        } else {
            throw s.error("client_id", "give client_id + client_secret (API client) or username + password")
        }
        apiVersion = try s.choice("api_version", ["v1", "v2", "v3", "v4"], default: "v3")
        pageSize = try s.int("page_size", default: 100, min: 1, max: 2000)
        sort = try s.string("sort", default: "id:asc")
        var mapping = JamfMapping()
        if let ea = try s.section("extension_attributes") {
            mapping.screenLockEA = try ea.string("screen_lock", default: mapping.screenLockEA)
            mapping.remoteLoginEA = try ea.string("remote_login", default: mapping.remoteLoginEA)
            mapping.firewallEA = try ea.string("firewall", default: mapping.firewallEA)
            mapping.wirelessMacEA = try ea.string("wireless_mac", default: mapping.wirelessMacEA)
            if let names = try ea.stringList("auto_updates") {
                guard names.count == mapping.autoUpdateEAs.count else {
                    throw ea.error("auto_updates", "expected \(mapping.autoUpdateEAs.count) names, in the order of the defaults")
                }
                mapping.autoUpdateEAs = zip(names, mapping.autoUpdateEAs).map { ($0, $1.default) }
            }
            try ea.finish()
        }
        let extras = try s.stringList("extra_practices") ?? []
        for e in extras where !JamfMapping.extraPractices.contains(e) {
            throw s.error("extra_practices", "unknown '\(e.prefix(40))' (known: \(JamfMapping.extraPractices.joined(separator: ", ")))")
        }
        mapping.extras = Set(extras)
        self.mapping = mapping
        var sections = ["GENERAL", "HARDWARE", "OPERATING_SYSTEM", "DISK_ENCRYPTION", "SECURITY", "USER_AND_LOCATION", "EXTENSION_ATTRIBUTES"]
        if try s.bool("applications", default: true) { sections.append("APPLICATIONS") }
        if try s.bool("services", default: true) { sections.append("SERVICES") }
        self.sections = sections
        let options = try HTTPOptions.read(s, defaultConnections: 5, defaultRetry: .jamf)
        try s.finish()
        http = SourceHTTP(client: client, source: name, baseURL: url, auth: auth, options: options)
    }

    func pagePath(_ page: Int, size: Int? = nil, sections: [String]? = nil) -> String {
        let sectionQuery = (sections ?? self.sections).map { "section=\($0)" }.joined(separator: "&")
        return "/api/\(apiVersion)/computers-inventory?\(sectionQuery)&page=\(page)&page-size=\(size ?? pageSize)&sort=\(sort)"
    }

    /// One page, decoded and mapped as soon as it arrives.
    func fetchPage(_ page: Int, _ context: PullContext) async throws -> (total: Int, records: [SourceRecord]) {
        let decoded = try await http.getJSON(
            JamfPage.self, pagePath(page), label: "page \(page)", what: "computers-inventory page \(page)",
            figures: context.figures)
        let records = decoded.results.map { mapping.record($0, source: name) }
        context.figures.page(records: records.count)
        return (decoded.totalCount, records)
    }

    func pull(_ context: PullContext) async throws -> [SourceRecord] {
        switch mode {
        case .classic: try await pullClassic(context)
        case .pro: try await pullPro(context)
        }
    }

    /// Page 0 tells `totalCount`; the other pages are then fetched concurrently (the limiter keeps Jamf's
    /// connection cap) and kept in page order. When a later page reports a larger total (computers were
    /// enrolled mid-crawl), paging goes on until that total is covered.
    func pullPro(_ context: PullContext) async throws -> [SourceRecord] {
        let first = try await fetchPage(0, context)
        var total = first.total
        let pages = max(1, (total + pageSize - 1) / pageSize)
        var byPage: [[SourceRecord]] = Array(repeating: [], count: pages)
        byPage[0] = first.records
        try await withThrowingTaskGroup(of: (Int, Int, [SourceRecord]).self) { group in
            for page in 1..<max(1, pages) {
                group.addTask {
                    let result = try await fetchPage(page, context)
                    return (page, result.total, result.records)
                }
            }
            for try await (page, pageTotal, records) in group {
                byPage[page] = records
                total = max(total, pageTotal)
            }
        }
        var page = pages
        while page * pageSize < total, byPage[page - 1].count == pageSize {
            let next = try await fetchPage(page, context)
            byPage.append(next.records)
            total = max(total, next.total)
            page += 1
        }
        let records = byPage.flatMap { $0 }
        context.figures.setRecords(records.count)
        return records
    }

    /// The Classic API has no paging: the id list, then one call per computer, bounded by the limiter.
    func pullClassic(_ context: PullContext) async throws -> [SourceRecord] {
        let list = try await http.getJSON(
            ClassicList.self, "/JSSResource/computers", label: "computer list", what: "computer list",
            figures: context.figures)
        let subset = "General&Location&Hardware&Security&Software&ExtensionAttributes"
        var records: [SourceRecord?] = Array(repeating: nil, count: list.computers.count)
        try await withThrowingTaskGroup(of: (Int, SourceRecord?).self) { group in
            for (i, entry) in list.computers.enumerated() {
                group.addTask {
                    let what = "computer \(entry.id)"
                    let computer = try await http.getJSON(
                        ClassicEnvelope.self, "/JSSResource/computers/id/\(entry.id)/subset/\(subset)",
                        label: what, what: what, figures: context.figures
                    ).computer
                    return (i, mapping.record(computer, source: name))
                }
            }
            for try await (i, record) in group {
                records[i] = record
                context.figures.page(records: 1)
            }
        }
        let out = records.compactMap { $0 }
        context.figures.setRecords(out.count)
        return out
    }

    /// Authenticates and reads one computer: proves the URL, credentials and "Read Computers".
    func check(_ context: PullContext) async throws -> String {
        if mode == .classic {
            let list = try http.decode(
                ClassicList.self, try await http.get("/JSSResource/computers", label: "computer list", figures: context.figures),
                what: "computer list")
            return "ok: \(list.computers.count) computers (Classic API)"
        }
        let response = try await http.get(pagePath(0, size: 1, sections: ["GENERAL"]), label: "check", figures: context.figures)
        let page = try http.decode(JamfPage.self, response, what: "computers-inventory check")
        return "ok: \(page.totalCount) computers (Jamf Pro API \(apiVersion))"
    }
}
