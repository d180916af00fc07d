import Foundation
import Testing

/// The docs in the repo stay true to the code: every path they name exists, every type they name is declared,
/// every target has its job in ARCHITECTURE.md, and every plugin README follows the one template.
@Suite struct DocsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The plugins' README template, in this order (CONTRIBUTING.md, "Adding a plugin").
    static let template = ["Config keys", "What it reads", "Practices informed", "Fixtures", "Limits", "Vendor notes"]
    /// Top-level folders and files a path in the docs may start with.
    static let roots = ["Sources/", "Tests/", "Schemas/", "Benchmarks/", "Jobs/", "cron/", "docs/", "fixtures/"]
    static let rootFiles: Set<String> = [
        "Package.swift", "Makefile", "README.md", "ARCHITECTURE.md", "CONTRIBUTING.md",
        "CHANGELOG.md", "LICENSE"
    ]

    static func text(_ relative: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(relative), encoding: .utf8)
    }

    static func exists(_ relative: String) -> Bool {
        FileManager.default.fileExists(atPath: root.appendingPathComponent(relative).path)
    }

    static func matches(_ pattern: String, in text: String, group: Int = 1) -> [String] {
        let regex = try! NSRegularExpression(pattern: pattern)
        let ns = text as NSString
        return regex.matches(in: text, range: NSRange(location: 0, length: ns.length)).map { ns.substring(with: $0.range(at: group)) }
    }

    /// Inline code spans (`…`) outside fenced blocks.
    static func codeSpans(_ markdown: String) -> [String] {
        var outside: [Substring] = []
        var fenced = false
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.trimmingCharacters(in: .whitespaces).hasPrefix("```") {
                fenced.toggle()
                continue
            }
            if !fenced { outside.append(line) }
        }
        return matches("`([^`\\n]+)`", in: outside.joined(separator: "\n"))
    }

    /// Markdown files of the docs: the top-level ones, docs/, and every README under Sources/ and Tests/.
    static func docFiles() throws -> [String] {
        var files = ["README.md", "ARCHITECTURE.md", "CONTRIBUTING.md", "CHANGELOG.md", "docs/DESIGN.md"]
        for folder in ["Sources", "Tests"] {
            let walker = FileManager.default.enumerator(atPath: root.appendingPathComponent(folder).path)
            while let path = walker?.nextObject() as? String {
                if path.hasSuffix("README.md") { files.append("\(folder)/\(path)") }
            }
        }
        return files.sorted()
    }

    /// Every repository path a doc names in code spans or relative links exists. Paths are taken from the repo
    /// root, or from the doc's own folder (a plugin README's `fixtures/…`); globs and placeholders are skipped.
    @Test func namedPathsExist() throws {
        var missing: [String] = []
        for file in try Self.docFiles() {
            let text = try Self.text(file)
            let folder = (file as NSString).deletingLastPathComponent
            func inFolder(_ path: String) -> String { folder.isEmpty ? path : "\(folder)/\(path)" }
            let spans = Self.codeSpans(text).filter { span in
                (Self.roots.contains { span.hasPrefix($0) && span != $0 } || Self.rootFiles.contains(span))
                    && !span.contains(where: { " *<>{}…?".contains($0) }) && !span.contains("NNNN")
            }
            for span in spans where !Self.exists(span) && !Self.exists(inFolder(span)) {
                missing.append("\(file): `\(span)`")
            }
            // Relative markdown links, [text](path) or [text](path#anchor), from the doc's folder.
            for link in Self.matches("\\]\\(([^)\\s]+)\\)", in: text)
            where !link.hasPrefix("#") && !link.contains("://") && !link.hasPrefix("mailto:") {
                let path = String(link.split(separator: "#", maxSplits: 1)[0])
                if !Self.exists(inFolder(path)) { missing.append("\(file): (\(link))") }
            }
        }
        #expect(missing.isEmpty, "paths named in the docs that do not exist:\n\(missing.joined(separator: "\n"))")
    }

    /// Every type ARCHITECTURE.md and CONTRIBUTING.md name (`NightlyRun`, `NightlyRun.run`, `Html.swift`) is
    /// declared in Sources/, Tests/ or Benchmarks/, or is a target of Package.swift.
    @Test func namedTypesAndFilesExist() throws {
        var swift = ""
        var fileNames = Set<String>()
        for folder in ["Sources", "Tests", "Benchmarks"] {
            let walker = FileManager.default.enumerator(atPath: Self.root.appendingPathComponent(folder).path)
            while let path = walker?.nextObject() as? String {
                guard path.hasSuffix(".swift") else { continue }
                swift += try Self.text("\(folder)/\(path)") + "\n"
                fileNames.insert((path as NSString).lastPathComponent)
            }
        }
        let declared = Set(Self.matches("\\b(?:struct|enum|class|protocol|actor|typealias)\\s+([A-Za-z_][A-Za-z0-9_]*)", in: swift))
        let targets = Set(Self.matches("name: \"([A-Za-z-]+)\"", in: try Self.text("Package.swift")))
        var missing: [String] = []
        for file in ["ARCHITECTURE.md", "CONTRIBUTING.md"] {
            for span in Self.codeSpans(try Self.text(file)) where !Self.exists(span) {
                if span.hasSuffix(".swift"), !span.contains("/") {
                    if !fileNames.contains(span) { missing.append("\(file): file \(span)") }
                    continue
                }
                // `Type` or `Type.member`, where Type is CamelCase with at least two capitals.
                let parts = span.split(separator: ".").map(String.init)
                guard (1...2).contains(parts.count), let type = parts.first,
                    type.range(of: "^[A-Z][a-z]+[A-Z][A-Za-z0-9]*$", options: .regularExpression) != nil
                        || (parts.count == 2 && type.range(of: "^[A-Z][A-Za-z0-9]*$", options: .regularExpression) != nil)
                else { continue }
                if !declared.contains(type) && !targets.contains(type) {
                    missing.append("\(file): type \(type)")
                    continue
                }
                if parts.count == 2, parts[1].range(of: "^[a-z][A-Za-z0-9]*$", options: .regularExpression) != nil,
                    Self.matches("\\b(?:func|var|let|case)\\s+(\(parts[1]))\\b", in: swift).isEmpty
                {
                    missing.append("\(file): member \(span)")
                }
            }
        }
        #expect(missing.isEmpty, "names in the docs that the code does not declare:\n\(missing.joined(separator: "\n"))")
    }

    /// Comments cite docs/DESIGN.md by section (`(docs/DESIGN.md, "Safety rules")`): each cited section is a
    /// heading there (a citation may shorten it to its first words).
    @Test func citedDesignSectionsExist() throws {
        let headings = try Self.text("docs/DESIGN.md").split(separator: "\n").filter { $0.hasPrefix("## ") }
            .map { String($0.dropFirst(3)) }
        var cited: [String] = []
        for folder in ["Sources", "Tests", "Schemas"] {
            let walker = FileManager.default.enumerator(atPath: Self.root.appendingPathComponent(folder).path)
            while let path = walker?.nextObject() as? String {
                guard [".swift", ".sql", ".md", ".py"].contains(where: { path.hasSuffix($0) }) else { continue }
                let text = try Self.text("\(folder)/\(path)")
                cited += Self.matches("DESIGN\\.md, \"([^\"\\n]+)\"", in: text).map { "\(folder)/\(path): \($0)" }
            }
        }
        #expect(!cited.isEmpty)
        for citation in cited {
            let section = String(citation.split(separator: ":", maxSplits: 1)[1].dropFirst())
            #expect(headings.contains { $0.hasPrefix(section) }, "\(citation) names no section of docs/DESIGN.md")
        }
    }

    /// "Every target's one job is named in ARCHITECTURE.md" (issue 19): each target of Package.swift appears
    /// in a row of its targets table.
    @Test func everyTargetHasItsJob() throws {
        let package = try Self.text("Package.swift")
        let targets = Self.matches("\\.(?:target|executableTarget|systemLibrary)\\(\\s*name: \"([A-Za-z-]+)\"", in: package)
        #expect(targets.count >= 10)
        let rows = try Self.text("ARCHITECTURE.md").split(separator: "\n").filter { $0.hasPrefix("| `") }
        for target in targets {
            #expect(rows.contains { $0.contains("`\(target)`") }, "ARCHITECTURE.md's targets table has no row for \(target)")
        }
    }

    /// Every plugin README, and the export sink's, has the template's sections in the template's order.
    @Test func pluginReadmesFollowTheTemplate() throws {
        let plugins = try FileManager.default.contentsOfDirectory(
            atPath: Self.root.appendingPathComponent("Sources/StethoscopeSources/Plugins").path)
        #expect(plugins.count >= 10)
        let readmes =
            plugins.sorted().map { "Sources/StethoscopeSources/Plugins/\($0)/README.md" }
            + ["Sources/StethoscopeExport/README.md"]
        for readme in readmes {
            let headings = try Self.text(readme).split(separator: "\n").filter { $0.hasPrefix("## ") }
                .map { String($0.dropFirst(3)) }
            let found = headings.filter { Self.template.contains($0) }
            #expect(found == Self.template, "\(readme): sections \(found), expected \(Self.template)")
        }
    }
}
