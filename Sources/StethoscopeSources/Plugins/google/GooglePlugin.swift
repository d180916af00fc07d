import Foundation
import StethoscopeCore
import StethoscopeHTTP

/// Google Workspace: mobile and ChromeOS devices (device source) and Directory users (directory), through the
/// Admin SDK Directory API with a service account and domain-wide delegation.
public enum GooglePlugin: SourcePlugin {
    public static let type = "google"
    public static func deviceSource(_ config: PluginConfig, _ env: PluginEnvironment) throws -> any DeviceSource {
        try GoogleDevices(config, http: env.http)
    }
    public static func directory(_ config: PluginConfig, _ env: PluginEnvironment) throws -> any DirectorySource {
        try GoogleDirectory(config, http: env.http)
    }

    static let mobileScope = "https://www.googleapis.com/auth/admin.directory.device.mobile.readonly"
    static let chromeScope = "https://www.googleapis.com/auth/admin.directory.device.chromeos.readonly"
    static let userScope = "https://www.googleapis.com/auth/admin.directory.user.readonly"

    /// The keys both roles share: the key, the admin to impersonate, the customer, the API's base URL.
    static func api(_ config: PluginConfig, scopes: [String], client: HTTPClient) throws -> (GoogleAPI, customer: String) {
        let s = config.section
        let key = try GoogleServiceAccountKey.parse(try s.requiredSecret("key"), where: s.keyPath(s.has("key_file") ? "key_file" : "key"))
        let subject = try s.string("subject")
        guard subject.contains("@") else { throw s.error("subject", "expected the email of a Workspace admin to impersonate") }
        let url = try s.httpURL("url", default: "https://admin.googleapis.com")
        let auth = try GoogleServiceAccountAuth(
            key: key, subject: subject, scopes: scopes, tokenURL: try s.optionalString("token_url"),
            keyPath: s.keyPath("key_file"))
        let customer = try s.string("customer", default: "my_customer")
        let options = try HTTPOptions.read(s, defaultConnections: 4, defaultRetry: .google)
        return (GoogleAPI(http: SourceHTTP(client: client, source: config.name, baseURL: url, auth: auth, options: options)), customer)
    }
}

/// Mobile devices and Chromebooks: two independent token-paged lists, walked concurrently.
struct GoogleDevices: DeviceSource {
    let name: String
    let api: GoogleAPI
    let customer: String
    let kinds: Set<String>
    let mobilePageSize: Int
    let chromePageSize: Int

    init(_ config: PluginConfig, http client: HTTPClient) throws {
        let s = config.section
        name = config.name
        let list = try s.stringList("devices") ?? ["mobile", "chromeos"]
        for k in list where k != "mobile" && k != "chromeos" { throw s.error("devices", "unknown '\(k.prefix(40))' (known: mobile, chromeos)") }
        guard !list.isEmpty else { throw s.error("devices", "name at least one of mobile, chromeos") }
        kinds = Set(list)
        mobilePageSize = try s.int("page_size", default: 100, min: 1, max: 100)
        chromePageSize = try s.int("chromeos_page_size", default: 300, min: 1, max: 300)
        var scopes: [String] = []
        if kinds.contains("mobile") { scopes.append(GooglePlugin.mobileScope) }
        if kinds.contains("chromeos") { scopes.append(GooglePlugin.chromeScope) }
        (api, customer) = try GooglePlugin.api(config, scopes: scopes, client: client)
        try s.finish()
    }

    var mobilePath: String { "/admin/directory/v1/customer/\(GoogleAPI.queryEscape(customer))/devices/mobile?projection=FULL&maxResults=\(mobilePageSize)" }
    var chromePath: String { "/admin/directory/v1/customer/\(GoogleAPI.queryEscape(customer))/devices/chromeos?projection=FULL&maxResults=\(chromePageSize)" }

    func pull(_ context: PullContext) async throws -> [SourceRecord] {
        async let mobile = kinds.contains("mobile") ? pullMobile(context) : []
        async let chrome = kinds.contains("chromeos") ? pullChrome(context) : []
        return try await mobile + chrome
    }

    func pullMobile(_ context: PullContext) async throws -> [SourceRecord] {
        var out: [SourceRecord] = []
        var index = 0
        try await api.pages(mobilePath, what: "mobile devices", MobilePage.self, figures: context.figures) { page in
            let list = (page.mobiledevices ?? []).accepted("mobile devices", page: index, source: name, context)
            index += 1
            out.reserveCapacity(out.count + list.count)
            for d in list { out.append(GoogleMapping.mobile(d, source: name)) }
            return list.count
        }
        return out
    }

    func pullChrome(_ context: PullContext) async throws -> [SourceRecord] {
        var out: [SourceRecord] = []
        var index = 0
        try await api.pages(chromePath, what: "chromeos devices", ChromePage.self, figures: context.figures) { page in
            let list = (page.chromeosdevices ?? []).accepted("chromeos devices", page: index, source: name, context)
            index += 1
            for d in list { if let r = GoogleMapping.chromeOS(d, source: name, now: context.now) { out.append(r) } }
            return list.count
        }
        return out
    }

    func check(_ context: PullContext) async throws -> String {
        var parts: [String] = []
        if kinds.contains("mobile") {
            let r = try await api.get(
                mobilePath.replacingOccurrences(of: "maxResults=\(mobilePageSize)", with: "maxResults=1"), label: "check", figures: context.figures)
            _ = try api.http.decode(MobilePage.self, r, what: "mobile devices check")
            parts.append("mobile devices readable")
        }
        if kinds.contains("chromeos") {
            let r = try await api.get(
                chromePath.replacingOccurrences(of: "maxResults=\(chromePageSize)", with: "maxResults=1"), label: "check", figures: context.figures)
            _ = try api.http.decode(ChromePage.self, r, what: "chromeos devices check")
            parts.append("ChromeOS devices readable")
        }
        return "ok: " + parts.joined(separator: ", ")
    }
}

/// Directory users: primary email, name, manager relation, the configured organization field, title,
/// location; suspended or archived people are kept as inactive.
struct GoogleDirectory: DirectorySource {
    let name: String
    let api: GoogleAPI
    let path: String
    let checkPath: String
    let organization: OrganizationField

    enum OrganizationField: Sendable {
        case department, costCenter, orgUnitPath, title
        case custom(schema: String, field: String)
    }

    init(_ config: PluginConfig, http client: HTTPClient) throws {
        let s = config.section
        name = config.name
        let field = try s.string("organization_field", default: "department")
        switch field {
        case "department": organization = .department
        case "cost_center": organization = .costCenter
        case "org_unit_path": organization = .orgUnitPath
        case "title": organization = .title
        default:
            let parts = field.split(separator: ".", maxSplits: 1).map(String.init)
            guard field.hasPrefix("custom:"), parts.count == 2 else {
                throw s.error("organization_field", "expected department, cost_center, org_unit_path, title or custom:<Schema>.<field>")
            }
            organization = .custom(schema: String(parts[0].dropFirst("custom:".count)), field: parts[1])
        }
        let pageSize = try s.int("page_size", default: 500, min: 1, max: 500)
        let domain = try s.optionalString("domain")
        let (api, customer) = try GooglePlugin.api(config, scopes: [GooglePlugin.userScope], client: client)
        self.api = api
        let scope = domain.map { "domain=\(GoogleAPI.queryEscape($0))" } ?? "customer=\(GoogleAPI.queryEscape(customer))"
        path = "/admin/directory/v1/users?\(scope)&projection=full&maxResults=\(pageSize)"
        checkPath = "/admin/directory/v1/users?\(scope)&projection=full&maxResults=1"
        try s.finish()
    }

    func people(_ context: PullContext) async throws -> [Person] {
        var people: [Person] = []
        var raw: [(email: String, manager: String?)] = []
        var index = 0
        try await api.pages(path, what: "users", UsersPage.self, figures: context.figures) { page in
            let users = (page.users ?? []).accepted("users", page: index, source: name, context)
            index += 1
            for u in users {
                let org = u.organizations?.first { $0.primary == true } ?? u.organizations?.first
                let manager = u.relations?.first { $0.type == "manager" }?.value.nonEmpty
                let name = u.name?.fullName.nonEmpty ?? [u.name?.givenName, u.name?.familyName].compactMap { $0 }.joined(separator: " ")
                people.append(
                    Person(
                        email: u.primaryEmail, name: name, managerEmail: manager, organization: organizationValue(u, org),
                        title: org?.title.nonEmpty, location: org?.location.nonEmpty,
                        active: u.suspended != true && u.archived != true))
                raw.append((u.primaryEmail, manager))
            }
            return users.count
        }
        _ = DirectoryAudit.report(raw: raw, people: people, context)
        return people
    }

    /// A token (with the user scope delegated) and one user: proves the directory is readable.
    func check(_ context: PullContext) async throws -> String {
        let r = try await api.get(checkPath, label: "check", figures: context.figures)
        _ = try api.http.decode(UsersPage.self, r, what: "users check")
        return "ok: directory users readable"
    }

    func organizationValue(_ u: GoogleUser, _ org: GoogleUser.Organization?) -> String? {
        switch organization {
        case .department: return org?.department.nonEmpty
        case .costCenter: return org?.costCenter.nonEmpty
        case .orgUnitPath: return u.orgUnitPath.nonEmpty
        case .title: return org?.title.nonEmpty
        case .custom(let schema, let field): return u.customSchemas?[schema]?[field]?.text.nonEmpty
        }
    }
}
