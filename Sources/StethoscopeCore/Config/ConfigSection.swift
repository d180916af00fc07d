import Foundation
import Yams

/// A configuration mistake, named by its key path (`sources[1].page_size`) and, when known, its line.
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    public var path: String
    public var message: String
    public var line: Int?
    public init(path: String, message: String, line: Int? = nil) {
        self.path = path
        self.message = message
        self.line = line
    }
    public var description: String {
        let at = line.map { " (line \($0))" } ?? ""
        return path.isEmpty ? "config\(at): \(message)" : "config \(path)\(at): \(message)"
    }
}

/// One YAML mapping of the config, read key by key.
///
/// Every key that is read is remembered, so `finish()` can reject keys nobody asked for: a typo such as
/// `page_sise` fails loudly instead of being ignored. Strings get `${ENV}` expansion; secrets come from
/// `${ENV}` or a `<key>_file` and are wrapped in `Secret` so they never print.
public final class ConfigSection: Sendable {
    public let path: String
    private let parsed: ParsedPairs
    private let line: Int?
    private let environment: [String: String]
    private let baseDirectory: URL
    /// The keys read so far (for `finish()`); under a lock, as a section is `Sendable` and may be read from any task.
    private let used = Locked<Set<String>>([])

    /// Yams does not mark `Node` `Sendable`; it is a value tree whose one class (`Tag`) has no setter outside
    /// Yams, and the pairs are never changed after parsing.
    private struct ParsedPairs: @unchecked Sendable {
        let list: [(key: String, value: Node)]
    }
    private var pairs: [(key: String, value: Node)] { parsed.list }

    init(pairs: [(key: String, value: Node)], path: String, line: Int?, environment: [String: String], baseDirectory: URL) {
        parsed = ParsedPairs(list: pairs)
        self.path = path
        self.line = line
        self.environment = environment
        self.baseDirectory = baseDirectory
    }

    /// Parses YAML text into the root section. `baseDirectory` resolves relative paths (the config file's folder).
    public static func parse(
        yaml: String, environment: [String: String] = ProcessInfo.processInfo.environment,
        baseDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    ) throws -> ConfigSection {
        let node: Node?
        do { node = try Yams.compose(yaml: yaml) } catch {
            throw yamlError(error)
        }
        guard let node else { return ConfigSection(pairs: [], path: "", line: nil, environment: environment, baseDirectory: baseDirectory) }
        return try ConfigSection.mapping(node, path: "", environment: environment, baseDirectory: baseDirectory)
    }

    /// A parse error by line, column and libyaml's problem only: Yams' own text quotes the offending line,
    /// which may hold a literal secret (`password: "hunter2`).
    static func yamlError(_ error: any Error) -> ConfigError {
        func at(_ mark: Mark) -> String { "line \(mark.line), column \(mark.column)" }
        func why(_ context: YamlError.Context?, _ problem: String) -> String {
            (context.map { "\($0.text) (\(at($0.mark))): " } ?? "") + problem
        }
        switch error as? YamlError {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return ConfigError(path: "", message: "not valid YAML at \(at(mark)): \(why(context, problem))", line: mark.line)
        case .duplicatedKeysInMapping(_, let context):
            return ConfigError(
                path: "", message: "not valid YAML: a key is given twice in the mapping at \(at(context.mark))",
                line: context.mark.line)
        case .reader(let problem, let offset, _, _):
            return ConfigError(path: "", message: "not valid YAML: \(problem)\(offset.map { " at byte \($0)" } ?? "")")
        default:
            return ConfigError(path: "", message: "not valid YAML")
        }
    }

    static func mapping(_ node: Node, path: String, environment: [String: String], baseDirectory: URL) throws -> ConfigSection {
        guard case .mapping(let m) = node else {
            throw ConfigError(path: path, message: "expected a mapping of keys, found \(describe(node))", line: node.mark?.line)
        }
        var pairs: [(key: String, value: Node)] = []
        var seen: Set<String> = []
        for (k, v) in m {
            guard case .scalar(let s) = k else {
                throw ConfigError(path: path, message: "keys must be plain strings", line: k.mark?.line)
            }
            let child = path.isEmpty ? s.string : "\(path).\(s.string)"
            if !seen.insert(s.string).inserted {
                throw ConfigError(path: child, message: "key given twice", line: k.mark?.line)
            }
            pairs.append((s.string, v))
        }
        return ConfigSection(pairs: pairs, path: path, line: node.mark?.line, environment: environment, baseDirectory: baseDirectory)
    }

    private static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let s): return "the value '\(s.string.prefix(40))'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    public var keys: [String] { pairs.map(\.key) }
    public func has(_ key: String) -> Bool { pairs.contains { $0.key == key } }
    /// Whether `key` holds a list (for keys that take either one mapping or a list of them).
    public func isList(_ key: String) -> Bool {
        guard let pair = pairs.first(where: { $0.key == key }), case .sequence = pair.value else { return false }
        return true
    }
    public func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private func node(_ key: String) -> Node? {
        guard let pair = pairs.first(where: { $0.key == key }) else { return nil }
        used.withLock { _ = $0.insert(key) }
        if case .scalar(let s) = pair.value,
            s.tag.description == Tag.Name.null.rawValue || (s.string.isEmpty && s.style == .plain) || s.string == "~" || s.string == "null"
        {
            return nil
        }
        return pair.value
    }

    public func error(_ key: String, _ message: String) -> ConfigError {
        ConfigError(path: keyPath(key), message: message, line: pairs.first { $0.key == key }?.value.mark?.line ?? line)
    }

    private func scalar(_ key: String, expected: String) throws -> String? {
        guard let n = node(key) else { return nil }
        guard case .scalar(let s) = n else { throw error(key, "expected \(expected), found \(ConfigSection.describe(n))") }
        return s.string
    }

    /// Expands `${NAME}` from the environment; an unset variable is an error naming the variable, never a value.
    func expand(_ text: String, key: String) throws -> String {
        guard text.contains("${") else { return text }
        var out = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            out += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                throw error(key, "unterminated ${...}")
            }
            let name = String(rest[start.upperBound..<end])
            guard let value = environment[name] else {
                throw error(key, "environment variable \(name) is not set")
            }
            out += value
            rest = rest[rest.index(after: end)...]
        }
        return out + rest
    }

    public func optionalString(_ key: String) throws -> String? {
        guard let value = try scalar(key, expected: "a string").map({ try expand($0, key: key) }) else { return nil }
        // `https://user:${PW}@host`: the userinfo is a secret in a plain string; register it for redaction.
        if value.contains("@") { Redactor.registerUserinfo(in: value) }
        return value
    }

    public func string(_ key: String) throws -> String {
        guard let s = try optionalString(key) else { throw error(key, "is required (a string)") }
        return s
    }

    public func string(_ key: String, default value: String) throws -> String { try optionalString(key) ?? value }

    /// An `http://` or `https://` URL (a vendor's API); required unless there is a default.
    public func httpURL(_ key: String, default value: String? = nil) throws -> String {
        let url = try value.map { try string(key, default: $0) } ?? string(key)
        guard url.hasPrefix("https://") || url.hasPrefix("http://") else { throw error(key, "expected an http(s) URL") }
        return url
    }

    /// One of a fixed set of words.
    public func choice(_ key: String, _ allowed: [String], default value: String? = nil) throws -> String {
        guard let s = try optionalString(key) ?? value else {
            throw error(key, "is required (one of \(allowed.joined(separator: ", ")))")
        }
        guard allowed.contains(s) else {
            throw error(key, "expected one of \(allowed.joined(separator: ", ")), found '\(s.prefix(40))'")
        }
        return s
    }

    /// `choice` into an enum whose raw values are the allowed words (listed in the order of its cases).
    public func choice<Choice: RawRepresentable & CaseIterable>(_ key: String, default value: Choice? = nil) throws -> Choice
    where Choice.RawValue == String {
        let word = try choice(key, Choice.allCases.map(\.rawValue), default: value?.rawValue)
        guard let chosen = Choice(rawValue: word) else { preconditionFailure("choice(\(key)) returned '\(word)', not a case") }
        return chosen
    }

    public func optionalInt(_ key: String, min: Int? = nil, max: Int? = nil) throws -> Int? {
        guard let s = try scalar(key, expected: "a whole number") else { return nil }
        guard let v = Int(try expand(s, key: key)) else { throw error(key, "expected a whole number, found '\(s.prefix(40))'") }
        if let min, v < min { throw error(key, "must be at least \(min), found \(v)") }
        if let max, v > max { throw error(key, "must be at most \(max), found \(v)") }
        return v
    }

    public func int(_ key: String, default value: Int, min: Int? = nil, max: Int? = nil) throws -> Int {
        try optionalInt(key, min: min, max: max) ?? value
    }

    /// A number within `min...max`. Both bounds are required: every number the config gives ends up in an
    /// integer somewhere (milliseconds for curl, nanoseconds for a sleep), and an unbounded one such as
    /// `timeout_s: 1e308` would trap there instead of being named here.
    public func double(_ key: String, default value: Double, min: Double, max: Double) throws -> Double {
        guard let s = try scalar(key, expected: "a number") else { return value }
        guard let v = Double(try expand(s, key: key)), v.isFinite else { throw error(key, "expected a number, found '\(s.prefix(40))'") }
        if v < min { throw error(key, "must be at least \(Self.format(min)), found \(Self.format(v))") }
        if v > max { throw error(key, "must be at most \(Self.format(max)), found \(Self.format(v))") }
        return v
    }

    /// `30` rather than `30.0`; exponents stay for huge values.
    static func format(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }

    public func bool(_ key: String, default value: Bool) throws -> Bool {
        guard let s = try scalar(key, expected: "true or false") else { return value }
        switch s.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(key, "expected true or false, found '\(s.prefix(40))'")
        }
    }

    /// A list of strings; a single string is accepted as a one-element list.
    public func stringList(_ key: String) throws -> [String]? {
        guard let n = node(key) else { return nil }
        switch n {
        case .scalar(let s): return [try expand(s.string, key: key)]
        case .sequence(let seq):
            return try seq.enumerated().map { i, item in
                guard case .scalar(let s) = item else {
                    throw ConfigError(path: "\(keyPath(key))[\(i)]", message: "expected a string, found \(ConfigSection.describe(item))", line: item.mark?.line)
                }
                return try expand(s.string, key: key)
            }
        default: throw error(key, "expected a list of strings, found \(ConfigSection.describe(n))")
        }
    }

    /// `stringList` without marking the key as read: for a look at a key another reader (a plugin) owns, so
    /// `finish()` still rejects it where that reader does not take it.
    public func peekStringList(_ key: String) throws -> [String]? {
        let wasUsed = used.withLock { $0.contains(key) }
        defer { if !wasUsed { used.withLock { _ = $0.remove(key) } } }
        return try stringList(key)
    }

    public func section(_ key: String) throws -> ConfigSection? {
        guard let n = node(key) else { return nil }
        return try ConfigSection.mapping(n, path: keyPath(key), environment: environment, baseDirectory: baseDirectory)
    }

    /// A list of mappings, e.g. `sources:`.
    public func sections(_ key: String) throws -> [ConfigSection] {
        guard let n = node(key) else { return [] }
        guard case .sequence(let seq) = n else { throw error(key, "expected a list, found \(ConfigSection.describe(n))") }
        return try seq.enumerated().map { i, item in
            try ConfigSection.mapping(item, path: "\(keyPath(key))[\(i)]", environment: environment, baseDirectory: baseDirectory)
        }
    }

    /// A secret from `key` (usually `${ENV}`) or from the file named by `key_file`; both at once is an error.
    public func secret(_ key: String) throws -> Secret? {
        let fileKey = key + "_file"
        let direct = try optionalString(key)
        let file = try optionalString(fileKey)
        switch (direct, file) {
        case (.some, .some): throw error(key, "give either \(key) or \(fileKey), not both")
        case (.some(let v), nil):
            guard !v.isEmpty else { throw error(key, "is empty (an empty secret is never right; check the variable or value)") }
            return Secret(v)
        case (nil, .some(let path)):
            let url = resolve(path)
            guard let data = FileManager.default.contents(atPath: url.path), let text = String(data: data, encoding: .utf8) else {
                throw error(fileKey, "cannot read secret file \(url.path)")
            }
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            // An empty file (a failed deploy, a truncated copy) would otherwise send an empty credential.
            guard !value.isEmpty else { throw error(fileKey, "secret file \(url.path) is empty") }
            return Secret(value)
        case (nil, nil): return nil
        }
    }

    public func requiredSecret(_ key: String) throws -> Secret {
        guard let s = try secret(key) else { throw error(key, "is required (give \(key) or \(key)_file)") }
        return s
    }

    /// A path, resolved against the config file's folder when relative.
    public func path(_ key: String) throws -> URL? { try optionalString(key).map(resolve) }

    /// `path` for a key that must be given; `what` says what the path is for in the error (`the CSV file`).
    public func requiredPath(_ key: String, _ what: String) throws -> URL {
        guard let url = try path(key) else { throw error(key, "is required (\(what))") }
        return url
    }

    public func resolve(_ path: String) -> URL {
        path.hasPrefix("/") ? URL(fileURLWithPath: path) : baseDirectory.appendingPathComponent(path)
    }

    /// Rejects every key that was not read: call it after a plugin has read all it knows.
    public func finish(allowing extra: Set<String> = []) throws {
        let read = used.withLock { $0 }
        for (key, value) in pairs where !read.contains(key) && !extra.contains(key) {
            throw ConfigError(path: keyPath(key), message: "unknown key", line: value.mark?.line)
        }
    }
}
