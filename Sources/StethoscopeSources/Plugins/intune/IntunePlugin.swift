import Foundation
import StethoscopeCore
import StethoscopeHTTP

/// Microsoft Intune managed devices (device source) and Entra ID users (directory) through Microsoft Graph,
/// with OAuth2 client credentials for one tenant.
public enum IntunePlugin: SourcePlugin {
    public static let type = "intune"
    public static func deviceSource(_ config: PluginConfig, _ env: PluginEnvironment) throws -> any DeviceSource {
        try IntuneDevices(config, http: env.http)
    }
    public static func directory(_ config: PluginConfig, _ env: PluginEnvironment) throws -> any DirectorySource {
        try EntraDirectory(config, http: env.http)
    }

    /// The shared keys: tenant, app credentials, Graph and token URLs.
    static func graph(_ config: PluginConfig, client: HTTPClient) throws -> SourceHTTP {
        let s = config.section
        let tenant = try s.string("tenant")
        guard !tenant.isEmpty, tenant.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }) else {
            throw s.error("tenant", "expected a tenant id or verified domain")
        }
        let url = try s.httpURL("url", default: "https://graph.microsoft.com/v1.0")
        let tokenURL = try s.string("token_url", default: "https://login.microsoftonline.com/\(tenant)/oauth2/v2.0/token")
        let auth = OAuthClientCredentials(
            tokenURL: tokenURL, clientID: try s.string("client_id"),
            clientSecret: try s.requiredSecret("client_secret"), scope: "https://graph.microsoft.com/.default")
        return SourceHTTP(
            client: client, source: config.name, baseURL: url, auth: auth, options: try HTTPOptions.read(s, defaultConnections: 4, defaultRetry: .graph))
    }

    /// Follows `@odata.nextLink` verbatim until it is absent, decoding each page as it arrives; like the Google
    /// pager, the next page is requested as soon as its link is found in the raw bytes, so decoding overlaps the
    /// next round trip. A link to another host than `url` is refused: the bearer token must only go to Graph.
    static func pages<Item: Decodable>(
        _ http: SourceHTTP, _ first: String, what: String, _ item: Item.Type, figures: FigureCounter,
        handle: ([Item]) -> Void
    ) async throws {
        let origin = origin(of: http.baseURL)
        func fetch(_ path: String, _ page: Int) throws -> Task<HTTPResponse, any Error> {
            if path.hasPrefix("http"), Self.origin(of: path) != origin {
                throw HTTPError(.decode, source: http.source, what: "\(what) page \(page)", detail: "nextLink leaves \(origin)")
            }
            return Task { try await http.get(path, label: "\(what) page \(page)", figures: figures) }
        }
        var pending: (link: String, task: Task<HTTPResponse, any Error>)? = (first, try fetch(first, 0))
        defer { pending?.task.cancel() }
        var page = 0
        while let current = pending {
            pending = nil
            let response = try await current.task.value
            if let early = JSONScan.topLevelString("@odata.nextLink", in: response.body), early != current.link,
                Self.origin(of: early) == origin || !early.hasPrefix("http")
            {
                pending = (early, try fetch(early, page + 1))
            }
            // A 200 that does not parse is fetched again (the early request, if any, is reconciled below).
            var received: HTTPResponse? = response
            let decoded: GraphPage<Item> = try await http.retryingDecode(what: "\(what) page \(page)", figures: figures) {
                if let r = received {
                    received = nil
                    return r
                }
                return try await http.get(current.link, label: "\(what) page \(page)", figures: figures)
            }
            handle(decoded.value)
            figures.page(records: decoded.value.count)
            if let link = decoded.nextLink {
                if link == current.link { throw HTTPError(.decode, source: http.source, what: "\(what) page \(page)", detail: "nextLink repeated") }
                if pending?.link != link {
                    pending?.task.cancel()
                    pending = (link, try fetch(link, page + 1))
                }
            } else {
                pending?.task.cancel()
                pending = nil
            }
            page += 1
        }
    }

    /// `scheme://host[:port]`.
    static func origin(of url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        return String(url[..<scheme.upperBound]) + String(rest.prefix { $0 != "/" && $0 != "?" })
    }
}

struct IntuneDevices: DeviceSource {
    let name: String
    let http: SourceHTTP
    let pageSize: Int

    init(_ config: PluginConfig, http client: HTTPClient) throws {
        name = config.name
        pageSize = try config.section.int("page_size", default: 1000, min: 1, max: 1000)
        http = try IntunePlugin.graph(config, client: client)
        try config.section.finish()
    }

    var firstPage: String { "/deviceManagement/managedDevices?$select=\(ManagedDevice.select)&$top=\(pageSize)" }

    func pull(_ context: PullContext) async throws -> [SourceRecord] {
        var out: [SourceRecord] = []
        try await IntunePlugin.pages(http, firstPage, what: "managedDevices", ManagedDevice.self, figures: context.figures) { list in
            for d in list { out.append(IntuneMapping.record(d, source: name)) }
        }
        return out
    }

    func check(_ context: PullContext) async throws -> String {
        let r = try await http.get("/deviceManagement/managedDevices?$select=id&$top=1", label: "check", figures: context.figures)
        _ = try http.decode(GraphPage<ManagedDevice>.self, r, what: "managedDevices check")
        return "ok: managed devices readable"
    }
}

enum IntuneMapping {
    /// Graph's "never" and empty strings are no value.
    static func date(_ text: String?) -> Date? {
        guard let t = text.nonEmpty, !t.hasPrefix("0001-") else { return nil }
        return ISODate.parse(t)
    }

    static func record(_ d: ManagedDevice, source: String) -> SourceRecord {
        let platform = d.operatingSystem.nonEmpty.flatMap { Platform(lenient: $0) }
        var r = SourceRecord(
            source: source, localID: d.id, platform: platform, osName: d.operatingSystem.nonEmpty,
            osVersion: d.osVersion.nonEmpty, model: d.model.nonEmpty, deviceName: d.deviceName.nonEmpty)
        r.lastSync = date(d.lastSyncDateTime)
        let ids: [(IdentifierKind, String?)] = [
            (.serial, d.serialNumber), (.udid, d.udid), (.imei, d.imei), (.meid, d.meid),
            (.mac, d.wiFiMacAddress), (.mac, d.ethernetMacAddress), (.deviceID, d.azureADDeviceId)
        ]
        for (kind, value) in ids { if let v = value.nonEmpty { r.identifiers.append(RawIdentifier(kind, v)) } }
        if let u = d.userPrincipalName.nonEmpty { r.ownerHints.append(OwnerHint(.upn, u)) }
        if let e = d.emailAddress.nonEmpty, e.lowercased() != d.userPrincipalName?.lowercased() { r.ownerHints.append(OwnerHint(.email, e)) }

        let at = r.lastSync
        if let e = d.isEncrypted {
            r.observations.append(
                Observation("encryption", satisfied: e, value: e ? "encrypted" : "not encrypted", details: "Intune isEncrypted", observedAt: at))
        }
        switch d.jailBroken?.lowercased() {
        case "false": r.observations.append(Observation("jailbreak", satisfied: true, value: "not jailbroken", observedAt: at))
        case "true": r.observations.append(Observation("jailbreak", satisfied: false, value: "jailbroken", observedAt: at))
        default: break  // "Unknown" says nothing and must not mask another source's reading
        }
        if let c = d.complianceState.nonEmpty {
            let ok: Bool? = c == "compliant" ? true : (c == "noncompliant" || c == "conflict" || c == "error") ? false : nil
            r.observations.append(Observation("intune_compliance", satisfied: ok, value: c, details: "Intune compliance policy state", observedAt: at))
        }
        if let t = d.partnerReportedThreatState.nonEmpty, t != "unknown" {
            let good: Set<String> = ["secured", "activated"]
            let bad: Set<String> = ["compromised", "highSeverity", "mediumSeverity", "misconfigured", "unresponsive"]
            let ok: Bool? = good.contains(t) ? true : bad.contains(t) ? false : nil
            r.observations.append(Observation("threat_state", satisfied: ok, value: t, details: "Mobile Threat Defense partner", observedAt: at))
        }
        return r
    }
}

/// Entra ID users with their managers: email (mail, else UPN), department or another organization field,
/// job title, office; disabled accounts are kept as inactive.
struct EntraDirectory: DirectorySource {
    let name: String
    let http: SourceHTTP
    let pageSize: Int
    let field: String

    static let fields = ["department", "cost_center", "division", "company_name", "office_location"]

    init(_ config: PluginConfig, http client: HTTPClient) throws {
        let s = config.section
        name = config.name
        field = try s.choice("organization_field", Self.fields, default: "department")
        pageSize = try s.int("page_size", default: 999, min: 1, max: 999)
        http = try IntunePlugin.graph(config, client: client)
        try s.finish()
    }

    func people(_ context: PullContext) async throws -> [Person] {
        var people: [Person] = []
        var raw: [(email: String, manager: String?)] = []
        let first = "/users?$select=\(EntraUser.select(organizationField: field))&$expand=manager($select=mail,userPrincipalName)&$top=\(pageSize)"
        try await IntunePlugin.pages(http, first, what: "users", EntraUser.self, figures: context.figures) { list in
            for u in list {
                guard let email = u.mail.nonEmpty ?? u.userPrincipalName.nonEmpty else {
                    context.figures.reject("user without mail or userPrincipalName")
                    continue
                }
                let manager = u.manager.flatMap { $0.mail.nonEmpty ?? $0.userPrincipalName.nonEmpty }
                let org: String?
                switch field {
                case "cost_center": org = u.employeeOrgData?.costCenter.nonEmpty
                case "division": org = u.employeeOrgData?.division.nonEmpty
                case "company_name": org = u.companyName.nonEmpty
                case "office_location": org = u.officeLocation.nonEmpty
                default: org = u.department.nonEmpty
                }
                people.append(
                    Person(
                        email: email, name: u.displayName ?? email, managerEmail: manager, organization: org,
                        title: u.jobTitle.nonEmpty, location: u.officeLocation.nonEmpty, active: u.accountEnabled != false))
                raw.append((email, manager))
            }
        }
        _ = DirectoryAudit.report(raw: raw, people: people, context)
        return people
    }

    /// A token and one user: proves the app may read users (`User.Read.All`), not only devices.
    func check(_ context: PullContext) async throws -> String {
        let r = try await http.get("/users?$select=id&$top=1", label: "check", figures: context.figures)
        _ = try http.decode(GraphPage<CheckedUser>.self, r, what: "users check")
        return "ok: directory users readable"
    }

    struct CheckedUser: Decodable { var id: String? }
}
