import Foundation
import StethoscopeCore
import StethoscopeHTTP

/// Directory API list pages and resources: only the fields Stethoscope maps. Google omits unknown fields or
/// sends `""`, so everything is optional and empty strings count as missing.
struct MobilePage: Decodable, TokenPaged {
    var mobiledevices: [EachRecord<MobileDevice>]?  // absent, not empty, when there are none
    var nextPageToken: String?
}

struct MobileDevice: Decodable {
    var resourceId: String
    var deviceId: String?
    var serialNumber: String?
    var imei: String?
    var meid: String?
    var hardwareId: String?
    var wifiMacAddress: String?
    var email: [String]?
    var model: String?
    var manufacturer: String?
    var os: String?
    var releaseVersion: String?
    var type: String?
    var status: String?
    var deviceCompromisedStatus: String?
    var encryptionStatus: String?
    var devicePasswordStatus: String?
    @LooseBool var adbStatus: Bool?
    @LooseBool var developerOptionsStatus: Bool?
    @LooseBool var unknownSourcesStatus: Bool?
    var securityPatchLevel: String?
    var lastSync: String?
}

struct ChromePage: Decodable, TokenPaged {
    var chromeosdevices: [EachRecord<ChromeDevice>]?
    var nextPageToken: String?
}

struct ChromeDevice: Decodable {
    var deviceId: String
    var serialNumber: String?
    var status: String?
    var model: String?
    var macAddress: String?
    var ethernetMacAddress: String?
    var ethernetMacAddress0: String?
    var meid: String?
    var osVersion: String?
    var bootMode: String?
    var osUpdateStatus: UpdateStatus?
    var autoUpdateThrough: String?
    /// Deprecated for `autoUpdateThrough`; older tenants still send it.
    var autoUpdateExpiration: LooseValue?
    var annotatedUser: String?
    var annotatedAssetId: String?
    var recentUsers: [RecentUser]?
    var lastSync: String?

    struct UpdateStatus: Decodable {
        var state: String?
        var targetOsVersion: String?
    }
    struct RecentUser: Decodable {
        var type: String?
        var email: String?
    }
}

struct UsersPage: Decodable, TokenPaged {
    var users: [EachRecord<GoogleUser>]?
    var nextPageToken: String?
}

struct GoogleUser: Decodable {
    var primaryEmail: String
    var name: Name?
    @LooseBool var suspended: Bool?
    @LooseBool var archived: Bool?
    var orgUnitPath: String?
    var organizations: [Organization]?
    var relations: [Relation]?
    var customSchemas: [String: [String: LooseValue]]?

    struct Name: Decodable {
        var fullName: String?
        var givenName: String?
        var familyName: String?
    }
    struct Organization: Decodable {
        var title: String?, department: String?, costCenter: String?, location: String?, name: String?
        @LooseBool var primary: Bool?
    }
    struct Relation: Decodable {
        var type: String?
        var value: String?
    }
}

/// One record of a list page, decoded on its own: real tenants send records that lack a required field (a
/// mobile device without `resourceId`), and such a record is rejected alone, with its error, while the rest of
/// the page and the source go on.
struct EachRecord<Record: Decodable>: Decodable {
    var result: Result<Record, any Error>
    init(from decoder: any Decoder) throws {
        do { result = .success(try Record(from: decoder)) } catch { result = .failure(error) }
    }
}

extension Array {
    /// The records that decoded; each one that did not is counted as rejected and logged as a warning, naming
    /// the list, the page and what was missing (never a value).
    func accepted<Record>(_ what: String, page: Int, source: String, _ context: PullContext) -> [Record] where Element == EachRecord<Record> {
        var out: [Record] = []
        out.reserveCapacity(count)
        for item in self {
            switch item.result {
            case .success(let record): out.append(record)
            case .failure(let error):
                let reason = "\(what) page \(page): record rejected: \(SourceHTTP.describe(error))"
                context.figures.reject(reason)
                context.logger.warning("\(source): \(reason)")
            }
        }
        return out
    }
}

/// A JSON scalar (or list of them) read as text: custom schema fields may be strings, numbers or booleans.
struct LooseValue: Decodable {
    var text: String?
    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) {
            text = s
        } else if let i = try? c.decode(Int.self) {
            text = String(i)
        } else if let d = try? c.decode(Double.self) {
            text = String(d)
        } else if let b = try? c.decode(Bool.self) {
            text = String(b)
        } else if let list = try? c.decode([LooseValue].self) {
            text = list.compactMap(\.text).first
        } else if let object = try? c.decode([String: LooseValue].self) {
            text = object["value"]?.text
        }  // multi-value entry
        else {
            text = nil
        }
    }
}

extension Optional where Wrapped == String {
    /// Google's "unknown" is an empty string as often as an absent field.
    var nonEmpty: String? {
        guard let s = self?.trimmingCharacters(in: .whitespaces), !s.isEmpty else { return nil }
        return s
    }
}
