import Foundation
import StethoscopeCore

/// Checks a directory pull before it is handed to the run: duplicate emails (and those that differ only in
/// case), manager references that differ in case from the person they name, dangling managers and manager
/// cycles (the last two via `OrgChart`). Each kind is counted in the source's figures (stored with the run) and
/// the first few are logged, so bad HR data is visible without stopping the night.
enum DirectoryAudit {
    /// `raw` are the emails as the directory spelled them (person, manager), in directory order.
    static func report(raw: [(email: String, manager: String?)], people: [Person], _ context: PullContext) -> [String] {
        var problems: [String] = []
        var spelled: [String: String] = [:]
        for (email, _) in raw {
            let key = email.lowercased()
            if let first = spelled[key] {
                if first == email {
                    problems.append("duplicate email \(key)")
                    context.figures.error("directory_duplicate_email")
                } else {
                    problems.append("duplicate email differing only in case: \(first) and \(email)")
                    context.figures.error("directory_duplicate_email_case")
                }
            } else {
                spelled[key] = email
            }
        }
        for (email, manager) in raw {
            guard let manager, let person = spelled[manager.lowercased()], person != manager else { continue }
            problems.append("manager of \(email) is written \(manager), in another case than \(person)")
            context.figures.error("directory_manager_case")
        }
        let chart = OrgChart(people)
        for p in chart.dangling {
            problems.append("manager of \(p) (\(chart[p]?.managerEmail ?? people.first { $0.email == p }?.managerEmail ?? "?")) is not in the directory")
            context.figures.error("directory_dangling_manager")
        }
        for p in chart.inCycles {
            problems.append("\(p) is on a manager cycle")
            context.figures.error("directory_manager_cycle")
        }
        // The run logs duplicates, dangling managers and cycles itself; only the case findings are ours to log.
        for problem in problems.filter({ $0.contains("case") }).prefix(20) { context.logger.warning("directory problem", metadata: ["problem": "\(problem)"]) }
        return problems
    }
}
