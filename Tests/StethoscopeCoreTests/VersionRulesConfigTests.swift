import StethoscopeCore
import Testing

/// `practices.os_version.versions.<platform>` takes one mapping or a dated list.
@Suite struct VersionRulesConfigTests {
    func rules(_ yaml: String) throws -> [Platform: [VersionRule]] {
        let config = try StethoscopeConfig.parse(yaml: yaml, environment: [:])
        guard case .osVersion(let rules) = config.practices["os_version"]?.check else { return [:] }
        return rules
    }

    @Test func mappingAndDatedList() throws {
        let r = try rules(
            """
            practices:
              os_version:
                versions:
                  Mac: {required: "14.0", recommended: "15.1"}
                  iOS:
                    - {required: "17.0", recommended: "18.1"}
                    - {from: "2026-10-21", required: "18.2"}
            """)
        #expect(r[.mac] == [VersionRule(required: "14.0", recommended: "15.1")])
        #expect(r[.iOS] == [VersionRule(required: "17.0", recommended: "18.1"), VersionRule(from: "2026-10-21", required: "18.2")])
        #expect(
            r[.windows]
                == PracticeSet.defaults.definitions.first { $0.key == "os_version" }.flatMap {
                    if case .osVersion(let d) = $0.check { return d[.windows] } else { return nil }
                })
    }

    @Test(arguments: [
        "- {from: \"2026-10-01\", required: \"1\"}",
        "- {required: \"1\"}\n        - {required: \"2\"}",
        "- {required: \"1\"}\n        - {from: \"2026-10-05\", required: \"2\"}\n        - {from: \"2026-10-05\", required: \"3\"}",
        "- {required: \"1\"}\n        - {from: \"soon\", required: \"2\"}",
        "- {required: \"one\"}",
        "- {required: \"1\", sometime: 3}"
    ])
    func badDatedListsAreRejected(_ list: String) {
        #expect(throws: ConfigError.self) {
            try rules("practices:\n  os_version:\n    versions:\n      Mac:\n        " + list + "\n")
        }
    }
}
