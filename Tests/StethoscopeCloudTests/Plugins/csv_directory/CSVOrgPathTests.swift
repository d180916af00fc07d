import Foundation
import StethoscopeCore
import Testing

@testable import StethoscopeSources

/// Hierarchical organizations from an HR CSV (issue #17): a path with a configured separator, or a parent column.
@Suite struct CSVOrgPathTests {
    func write(_ text: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("orgs-\(UUID().uuidString).csv")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test func separatorTurnsOrganizationsIntoPaths() async throws {
        let file = try write("email,name,department\na@x.test,A,Engineering > Platform\nb@x.test,B,Sales\nc@x.test,C, Engineering >  > Web/Mobile \n")
        defer { try? FileManager.default.removeItem(at: file) }
        let d = try Cloud.directory("directory: {type: csv_directory, path: \"\(file.path)\", organization_separator: \">\"}")
        let orgs = Dictionary(uniqueKeysWithValues: try await d.people(Cloud.context()).map { ($0.email, $0.organization ?? "") })
        #expect(orgs == ["a@x.test": "/Engineering/Platform", "b@x.test": "/Sales", "c@x.test": "/Engineering/Web-Mobile"])
        #expect(throws: ConfigError.self) { try Cloud.directory("directory: {type: csv_directory, path: x.csv, organization_separator: \"\"}") }
    }

    @Test func parentColumnBuildsPathsAcrossRows() async throws {
        let file = try write(
            """
            email,name,department,parent
            a@x.test,A,Platform,Engineering
            b@x.test,B,Engineering,
            c@x.test,C,Core,Platform
            d@x.test,D,Loop1,Loop2
            e@x.test,E,Loop2,Loop1
            f@x.test,F,Sales,

            """)
        defer { try? FileManager.default.removeItem(at: file) }
        let d = try Cloud.directory("directory: {type: csv_directory, path: \"\(file.path)\", organization_parent_field: parent}")
        let orgs = Dictionary(uniqueKeysWithValues: try await d.people(Cloud.context()).map { ($0.email, $0.organization ?? "") })
        #expect(orgs["a@x.test"] == "/Engineering/Platform" && orgs["b@x.test"] == "/Engineering")
        #expect(orgs["c@x.test"] == "/Engineering/Platform/Core" && orgs["f@x.test"] == "/Sales")
        // A parent cycle is cut where it closes.
        #expect(orgs["d@x.test"] == "/Loop2/Loop1" && orgs["e@x.test"] == "/Loop1/Loop2")
        let missing = try Cloud.directory("directory: {type: csv_directory, path: \"\(file.path)\", organization_parent_field: nope}")
        await #expect(throws: SourceError.self) { try await missing.people(Cloud.context()) }
    }
}
