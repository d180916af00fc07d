import Foundation

/// The parts of a `_bulk` answer the export reads (the request asks for just these with `filter_path`):
/// per item its status, `_id` and error type and reason, in the order the items were sent.
struct BulkAnswer: Decodable {
    var errors: Bool
    var items: [Item]

    struct Item: Decodable {
        var status: Int
        var id: String?
        var error: ItemError?

        private struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
        private struct Body: Decodable {
            var status: Int
            var _id: String?
            var error: ItemError?
        }

        /// Each item is `{"<action>": {...}}`; the action name is not needed.
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            guard let action = container.allKeys.first else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "empty bulk item"))
            }
            let body = try container.decode(Body.self, forKey: action)
            status = body.status
            id = body._id
            error = body.error
        }
    }

    /// `{"type", "reason"}`; some servers answer a bare string.
    struct ItemError: Decodable {
        var type: String?
        var reason: String?
        init(from decoder: any Decoder) throws {
            if let text = try? decoder.singleValueContainer().decode(String.self) {
                type = nil
                reason = text
                return
            }
            let c = try decoder.container(keyedBy: CodingKeys.self)
            type = try c.decodeIfPresent(String.self, forKey: .type)
            reason = try c.decodeIfPresent(String.self, forKey: .reason)
        }
        enum CodingKeys: String, CodingKey { case type, reason }
        var text: String { [type, reason].compactMap { $0 }.joined(separator: ": ") }
    }

    /// An answer without `items` when `filter_path` dropped an empty list (no items sent) decodes as none.
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        errors = try c.decodeIfPresent(Bool.self, forKey: .errors) ?? false
        items = try c.decodeIfPresent([Item].self, forKey: .items) ?? []
    }
    enum CodingKeys: String, CodingKey { case errors, items }
}
