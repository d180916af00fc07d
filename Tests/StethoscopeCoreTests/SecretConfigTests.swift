import Foundation
import Testing

@testable import StethoscopeCore

/// Issue 13, "Secrets never leave the process": what the config reader and the redactor guarantee.
@Suite struct SecretConfigTests {
    func section(_ yaml: String, env: [String: String] = [:], base: URL = URL(fileURLWithPath: "/tmp")) throws -> ConfigSection {
        try ConfigSection.parse(yaml: yaml, environment: env, baseDirectory: base)
    }

    @Test func anEmptySecretFileIsAConfigErrorNamingItsKey() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stethoscope-secret-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for content in ["", "\n", "  \n\t\n"] {
            try content.write(to: dir.appendingPathComponent("token"), atomically: true, encoding: .utf8)
            let s = try section("sources:\n  - token_file: token\n", base: dir)
            let source = try #require(try s.sections("sources").first)
            #expect(throws: ConfigError.self) { _ = try source.secret("token") }
            do { _ = try source.secret("token") } catch let e as ConfigError {
                #expect(e.path == "sources[0].token_file" && e.line == 2 && e.message.contains("empty"))
            }
        }
        try "s3cr3t-value\n".write(to: dir.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        let ok = try #require(try section("token_file: token\n", base: dir).secret("token"))
        #expect(ok.reveal() == "s3cr3t-value")
        // An empty variable is as wrong as an empty file.
        #expect(throws: ConfigError.self) { _ = try section("token: \"${T}\"\n", env: ["T": ""]).secret("token") }
    }

    /// Yams' own message quotes the offending line, which here holds a literal password.
    @Test func aYAMLParseErrorNeverEchoesTheConfigText() throws {
        let broken = [
            "sources:\n  - {name: es, password: \"hunter2-literal-pw\n",  // unterminated quote
            "sources:\n  - name: es\n    password: hunter2-literal-pw: more\n",  // mapping in a plain scalar
            "sources:\n  - name: es\n\tpassword: hunter2-literal-pw\n",  // tab indentation
            "password: [hunter2-literal-pw\n"  // unclosed flow list
        ]
        for yaml in broken {
            do {
                _ = try StethoscopeConfig.parse(yaml: yaml, environment: [:])
                Issue.record("parsed: \(yaml.count) bytes")
            } catch let e as ConfigError {
                #expect(!e.description.contains("hunter2"), "\(e.description)")
                #expect(e.description.contains("not valid YAML"))
                #expect(e.line != nil && e.description.contains("line"), "\(e.description)")
            }
        }
    }

    /// Every secret the config resolved is blanked wherever it turns up, in the forms it takes on the wire.
    @Test func resolvedSecretsAndURLUserinfoAreRedactedEverywhere() throws {
        let token = "tok-" + UUID().uuidString
        let password = "p@ss/w+rd " + UUID().uuidString.prefix(8)
        let s = try section(
            """
            token: "${TOKEN}"
            url: "https://svc:${PW}@vendor.example.com/api"
            """, env: ["TOKEN": token, "PW": password.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!])
        _ = try s.secret("token")
        _ = try s.string("url")
        let escaped = password.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let basic = Data("svc:\(password)".utf8).base64EncodedString()
        let line =
            "GET https://svc:\(escaped)@vendor.example.com/x?api_token=\(token)&page=2 {\"t\":\"\(token)\"} "
            + "Authorization: Basic \(basic) pw=\(password) api_key=zzz-never-registered-zzz"
        let out = Redactor.redact(line)
        for needle in [token, escaped, password, basic] { #expect(!out.contains(needle), "\(out)") }
        #expect(out.contains("page=2") && out.contains("vendor.example.com"))
        // A credential query parameter is blanked even when its value was never registered.
        #expect(!Redactor.redact("https://h/p?x=1&api_key=zzz-never-registered-zzz").contains("zzz"))

        // What is not a credential stays readable.
        for plain in [
            "owner a.b@example.com has 2 devices", "https://host/users?email=a@b.example&page=3",
            "msg=\"source done\" key=value records=12", "https://es.example.com:9200/_bulk?filter_path=errors"
        ] {
            #expect(Redactor.redact(plain) == plain)
        }
        #expect(Redactor.redact("see https://tok3n@git.example.com/x") == "see https://<redacted>@git.example.com/x")

        // Redaction before the cut: a secret crossing byte 200 leaves no prefix behind.
        let body = Data((String(repeating: "x", count: 190) + token + " tail").utf8)
        let excerpt = Redactor.excerpt(body)
        #expect(!excerpt.contains(token.prefix(6)) && excerpt.count <= 200)
    }
}
