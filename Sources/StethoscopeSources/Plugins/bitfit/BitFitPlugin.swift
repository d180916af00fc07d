import Foundation
import StethoscopeCore
import StethoscopeHTTP

/// Ownership from bitFit asset management (this folder's README, "Vendor notes"): each user's assets, by serial and,
/// with `details: true`, the MAC and UDID custom fields of each asset. bitFit's API has no inventory-wide
/// list, so this costs one request per user (plus one per asset with details), bounded by `max_connections`.
public enum BitFitPlugin: SourcePlugin {
    public static let type = "bitfit"
    public static func attribution(_ config: PluginConfig, _ env: PluginEnvironment) throws -> any AttributionSource {
        try BitFit(config, http: env.http)
    }
}

struct BitFit: AttributionSource {
    let name: String
    let http: SourceHTTP
    let token: Secret
    let details: Bool

    struct Users: Decodable { var items: [User] }
    struct User: Decodable {
        var id: Int
        var email: String?
        var status: String?
    }
    struct Assets: Decodable { var items: [Asset] }
    struct Asset: Decodable {
        var id: Int
        var serial_number: String?
        @LooseBool var is_deleted: Bool?
    }
    struct Detail: Decodable {
        var item: Item
        struct Item: Decodable {
            var serial_number: String?
            var fields: [Field]?
        }
        struct Field: Decodable {
            var base_name: String?
            var value: String?
        }
    }

    init(_ config: PluginConfig, http client: HTTPClient) throws {
        let s = config.section
        name = config.name
        let url = try s.httpURL("url", default: "https://api.bitfit.com/")
        token = try s.requiredSecret("api_token")
        details = try s.bool("details", default: true)
        http = SourceHTTP(client: client, source: config.name, baseURL: url, auth: nil, options: try HTTPOptions.read(s, defaultConnections: 4))
        try s.finish()
    }

    /// bitFit authenticates by query parameter; `HTTPRequest.what` drops queries, so errors never show it.
    func path(_ p: String, _ query: String = "") -> String {
        "/\(p)?\(query.isEmpty ? "" : query + "&")api_token=\(GoogleAPI.queryEscape(token.reveal()))"
    }

    /// One small request with the token: a user search that matches nobody (a wrong token is refused all the same).
    func check(_ context: PullContext) async throws -> String {
        let r = try await http.get(path("users", "search=stethoscope-check%40invalid"), label: "check", figures: context.figures)
        _ = try http.decode(Users.self, r, what: "users check")
        return "ok: users readable"
    }

    func assignments(_ context: PullContext) async throws -> [OwnerAssignment] {
        let users = try await http.getJSON(Users.self, path("users"), label: "users", what: "users", figures: context.figures).items
        context.figures.page(records: users.count)
        return try await withThrowingTaskGroup(of: [OwnerAssignment].self) { group in
            for user in users {
                guard let email = user.email, email.contains("@") else { continue }
                group.addTask { try await assets(of: user.id, email: email, context) }
            }
            var out: [OwnerAssignment] = []
            for try await list in group { out += list }
            return out
        }
    }

    func assets(of user: Int, email: String, _ context: PullContext) async throws -> [OwnerAssignment] {
        let what = "assets of user \(user)"
        let list = try await http.getJSON(Assets.self, path("users/\(user)/assets"), label: what, what: what, figures: context.figures).items
        context.figures.page(records: list.count)
        var out: [OwnerAssignment] = []
        for asset in list where asset.is_deleted != true {
            if let s = asset.serial_number, !s.isEmpty { out.append(OwnerAssignment(RawIdentifier(.serial, s), email: email)) }
            guard details else { continue }
            let w = "asset \(asset.id)"
            let d = try await http.getJSON(Detail.self, path("assets/\(asset.id)"), label: w, what: w, figures: context.figures).item
            for f in d.fields ?? [] {
                guard let v = f.value, !v.isEmpty else { continue }
                switch f.base_name {
                case "mac_address", "alt_mac_address": out.append(OwnerAssignment(RawIdentifier(.mac, v), email: email))
                case "UDID": out.append(OwnerAssignment(RawIdentifier(.udid, v), email: email))
                default: break
                }
            }
        }
        return out
    }
}
