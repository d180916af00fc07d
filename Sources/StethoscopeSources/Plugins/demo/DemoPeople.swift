import Foundation
import StethoscopeCore

/// Builds the people and the org tree: a CEO, 6–9 VPs (departments), then levels sized so the tree is 7 levels
/// deep with spans of 3–12; joiners, leavers, one reorg, a dangling manager and two people with no manager.
struct PeopleBuilder {
    static let departments: [String] = [
        "Engineering", "Sales", "Marketing", "Finance", "Operations", "Product", "Customer Success", "People",
        "Legal", "Security", "IT"
    ]
    /// Team names for split departments: Engineering's, Sales', and a generic list for the rest.
    static let teams: [[String]] = [
        [
            "Platform", "Mobile", "Data", "Infrastructure", "Web", "Payments", "Growth", "Developer Tools", "Search",
            "Reliability", "Identity", "Machine Learning"
        ],
        ["Americas", "EMEA", "APAC", "Enterprise", "Commercial", "Public Sector", "Partners", "Sales Operations"],
        ["Americas", "EMEA", "APAC", "Programs", "Strategy", "Shared Services"]
    ]
    /// Sub-team names for the third level of a large team ("/Engineering/Platform/Core").
    static let subTeams: [String] = [
        "Core", "Services", "Tooling", "Quality", "Foundations", "Integrations",
        "Experience", "Operations"
    ]
    static let locations: [String] = [
        "San Francisco", "New York", "London", "Berlin", "Bangalore", "Singapore", "Toronto", "Austin", "Remote - US",
        "Sydney"
    ]
    static let locationWeights: [Double] = [22, 15, 12, 8, 12, 6, 6, 7, 10, 2]
    static let firstNames: [String] = [
        "james", "mary", "robert", "patricia", "john", "jennifer", "michael", "linda", "david", "elizabeth", "william",
        "barbara", "richard", "susan", "joseph", "jessica", "thomas", "sarah", "charles", "karen", "priya", "wei",
        "ana", "luis", "fatima", "omar", "yuki", "hiro", "olga", "ivan", "chen", "mei", "arjun", "deepa", "kofi",
        "amara", "lucas", "sofia", "noah", "emma", "liam", "olivia", "mateo", "isabella", "elijah", "mia", "ethan",
        "ava", "aiden", "zoe", "raj", "nina", "sven", "ingrid", "pierre", "claire", "diego", "lucia", "kenji", "aiko",
        "tariq", "leila", "samuel", "grace", "daniel", "chloe", "henry", "alice", "jack", "ruby"
    ]
    static let lastNames: [String] = [
        "smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez", "martinez",
        "hernandez", "lopez", "gonzalez", "wilson", "anderson", "thomas", "taylor", "moore", "jackson", "martin",
        "lee", "perez", "thompson", "white", "harris", "sanchez", "clark", "ramirez", "lewis", "robinson", "walker",
        "young", "allen", "king", "wright", "scott", "torres", "nguyen", "hill", "flores", "green", "adams", "nelson",
        "baker", "hall", "rivera", "campbell", "mitchell", "carter", "roberts", "patel", "shah", "kumar", "singh",
        "wang", "li", "zhang", "liu", "chen", "yang", "tanaka", "suzuki", "sato", "kim", "park", "choi", "muller",
        "schmidt", "schneider", "fischer", "dubois", "moreau", "rossi", "russo", "silva", "santos", "okafor", "mensah",
        "ivanov", "petrov", "larsen", "hansen", "novak", "kowalski", "cohen", "levi", "haddad", "khan", "ali", "ahmed"
    ]
    static let icTitles: [[String]] = [
        ["Software Engineer", "Senior Software Engineer", "Staff Engineer", "Site Reliability Engineer", "QA Engineer"],
        ["Account Executive", "Sales Development Representative", "Solutions Engineer", "Account Manager"],
        ["Marketing Manager", "Content Strategist", "Product Marketing Manager", "Designer"],
        ["Financial Analyst", "Accountant", "Controller"],
        ["Operations Analyst", "Program Manager", "Facilities Coordinator"],
        ["Product Manager", "Product Designer", "UX Researcher"],
        ["Customer Success Manager", "Support Engineer", "Technical Account Manager"],
        ["Recruiter", "People Partner", "Coordinator"],
        ["Counsel", "Paralegal"],
        ["Security Engineer", "Security Analyst"],
        ["IT Support Specialist", "Systems Administrator"]
    ]

    let seed: UInt64
    let target: Int
    let nights: Int
    var persons: [DemoPerson] = []
    var emails: [String] = []
    var usernames: [String] = []
    var names: [String] = []
    var titles: [String] = []
    var organizations: [String] = []
    /// Sub-team organization → its team's (the third level's parent).
    var subTeamParent: [Int: Int] = [:]
    var reorgRoot = 0
    var reorgNewManager = 0
    var dangling = 0
    private var reports: [Int] = []
    private var department: [Int] = []  // index into departments, per person
    private var orgOf: [Int: Int] = [:]  // (level-2 ancestor) -> organization, for split departments
    private var usedNames: [String: Int] = [:]

    init(seed: UInt64, people: Int, nights: Int) {
        self.seed = seed
        target = people
        self.nights = nights
    }

    mutating func build() {
        var rng = DemoRandom(DemoRandom.derive(seed, 0x7EE))
        buildTree(&rng)
        assignOrganizations()
        addJoiners(&rng)
        pickLeavers(&rng)
        pickReorg(&rng)
        pickOddities(&rng)
        computeAfterReorg()
        assignTitles(&rng)
    }

    private mutating func addPerson(manager: Int, level: Int, join: Int, _ rng: inout DemoRandom) {
        let first = PeopleBuilder.firstNames[rng.int(PeopleBuilder.firstNames.count)]
        let last = PeopleBuilder.lastNames[rng.int(PeopleBuilder.lastNames.count)]
        let base = first + "." + last
        let n = usedNames[base, default: 0] + 1
        usedNames[base] = n
        let user: String = n == 1 ? base : base + String(n)
        usernames.append(user)
        emails.append(user + "@" + DemoWorld.domain)
        names.append(first.capitalized + " " + last.capitalized)
        let loc = rng.pick(PeopleBuilder.locationWeights)
        persons.append(
            DemoPerson(
                manager: Int32(manager), level: Int8(level), join: Int16(join), leave: Int16.max,
                orgBefore: 0, orgAfter: 0, location: UInt8(loc)))
        reports.append(0)
        if manager >= 0 { reports[manager] += 1 }
        department.append(manager <= 0 ? -1 : department[manager])
    }

    /// Level sizes grow geometrically so the last of 7 levels absorbs the rest.
    private mutating func buildTree(_ rng: inout DemoRandom) {
        let depth = 7
        addPerson(manager: -1, level: 0, join: 0, &rng)
        var level: [Int] = [0]
        var l = 0
        while l < depth - 1 && persons.count < target {
            let remaining: Int = target - persons.count
            let left: Int = depth - 1 - l
            var size: Int
            if l == 0 {
                size = min(remaining, 6 + rng.int(4))
            } else if left == 1 {
                size = remaining
            } else {
                size = Int((Double(level.count) * PeopleBuilder.growth(Double(remaining) / Double(level.count), levels: left)).rounded())
            }
            if l == 1 { size = max(size, 3 * level.count) }
            size = max(3, min(size, remaining, 12 * level.count))
            // Managers at this level: all of them near the top, else enough for a mean span of about 6.5.
            let lo: Int = (size + 11) / 12
            let hi: Int = max(lo, min(level.count, size / 3))
            let wanted: Int = l <= 1 ? level.count : Int((Double(size) / 6.5).rounded())
            let m: Int = min(max(wanted, lo), hi)
            var order = level
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.int(i + 1)) }
            let managers = Array(order.prefix(m)).sorted()
            var spans = [Int](repeating: size / m >= 3 ? 3 : size / m, count: m)
            var extra: Int = size - spans.reduce(0, +)
            while extra > 0 {
                let k = rng.int(m)
                if spans[k] < 12 {
                    spans[k] += 1
                    extra -= 1
                }
            }
            var next: [Int] = []
            next.reserveCapacity(size)
            for (k, mgr) in managers.enumerated() {
                for _ in 0..<spans[k] {
                    next.append(persons.count)
                    addPerson(manager: mgr, level: l + 1, join: 0, &rng)
                    if l == 0 { department[persons.count - 1] = next.count - 1 }
                }
            }
            level = next
            l += 1
        }
    }

    /// g with g + g² + … + g^levels = ratio (bisection; ratio ≥ levels).
    static func growth(_ ratio: Double, levels: Int) -> Double {
        var lo: Double = 1
        var hi: Double = 13
        for _ in 0..<50 {
            let g = (lo + hi) / 2
            var sum: Double = 0
            var p: Double = 1
            for _ in 0..<levels {
                p *= g
                sum += p
            }
            if sum < ratio { lo = g } else { hi = g }
        }
        return lo
    }

    /// Departments are the VPs' subtrees ("/Sales"); a large one (over 20% of the company) is split by its level-2
    /// teams ("/Engineering/Platform", an org path: the department counts its teams), and a large team (over 4%)
    /// by its level-3 managers' sub-teams ("/Engineering/Platform/Core": a three-level hierarchy). No random
    /// draw here, and a sub-team takes its team's culture, so the third level moved no device's posture.
    private mutating func assignOrganizations() {
        let vps = persons.indices.filter { persons[$0].level == 1 }
        var size = [Int](repeating: 0, count: PeopleBuilder.departments.count)
        for i in persons.indices where department[i] >= 0 { size[department[i]] += 1 }
        // The largest department is Engineering, the next Sales, and so on down the list.
        let bySize = vps.indices.sorted { size[$0] != size[$1] ? size[$0] > size[$1] : $0 < $1 }
        var rank = [Int](repeating: 0, count: PeopleBuilder.departments.count)
        for (r, d) in bySize.enumerated() { rank[d] = r }
        for i in persons.indices where department[i] >= 0 { department[i] = rank[department[i]] }
        var subtree = [Int](repeating: 0, count: PeopleBuilder.departments.count)
        for i in persons.indices where department[i] >= 0 { subtree[department[i]] += 1 }
        var deptOrg: [Int: Int] = [:]
        for (d, _) in vps.enumerated() {
            deptOrg[d] = organizations.count
            organizations.append("/" + PeopleBuilder.departments[d])
        }
        let executive = organizations.count
        organizations.append("/Office of the CEO")
        var teamOrdinal: [Int: Int] = [:]
        var teamSize: [Int: Int] = [:]
        var subTeamOrdinal: [Int: Int] = [:]
        for i in persons.indices where department[i] >= 0 && persons[i].level >= 2 { teamSize[ancestor(i, level: 2), default: 0] += 1 }
        for i in persons.indices {
            let d = department[i]
            let p = persons[i]
            if d < 0 {
                persons[i].orgBefore = Int16(executive)
                continue
            }
            var org = deptOrg[d]!
            if Double(subtree[d]) > 0.2 * Double(persons.count) && p.level >= 2 {
                let anchor = ancestor(i, level: 2)
                if let o = orgOf[anchor] {
                    org = o
                } else {
                    let n = teamOrdinal[d, default: 0]
                    teamOrdinal[d] = n + 1
                    let teams = PeopleBuilder.teams[min(d, PeopleBuilder.teams.count - 1)]
                    // Org paths, as Google's orgUnitPath gives them: the report rolls a team up into its department.
                    let name =
                        "/" + PeopleBuilder.departments[d] + "/" + teams[n % teams.count]
                        + (n >= teams.count ? " " + String(n / teams.count + 1) : "")
                    org = organizations.count
                    organizations.append(name)
                    orgOf[anchor] = org
                }
                // A level-3 manager's subtree in a large team is a sub-team; the director and level-3 individual
                // contributors stay in the team itself.
                let lead = p.level >= 3 ? ancestor(i, level: 3) : -1
                if lead >= 0, reports[lead] > 0, Double(teamSize[anchor] ?? 0) > 0.04 * Double(persons.count) {
                    if let o = orgOf[lead] {
                        org = o
                    } else {
                        let n = subTeamOrdinal[anchor, default: 0]
                        subTeamOrdinal[anchor] = n + 1
                        let name =
                            organizations[org] + "/" + PeopleBuilder.subTeams[n % PeopleBuilder.subTeams.count]
                            + (n >= PeopleBuilder.subTeams.count ? " " + String(n / PeopleBuilder.subTeams.count + 1) : "")
                        orgOf[lead] = organizations.count
                        subTeamParent[organizations.count] = org
                        org = organizations.count
                        organizations.append(name)
                    }
                }
            }
            persons[i].orgBefore = Int16(org)
        }
    }

    /// The ancestor at `level` of a person at that level or below (the person itself at that level).
    private func ancestor(_ i: Int, level: Int) -> Int {
        var j = i
        while persons[j].level > level { j = Int(persons[j].manager) }
        return j
    }

    /// About 5% of the starting headcount joins over the horizon, under managers with room in their span.
    private mutating func addJoiners(_ rng: inout DemoRandom) {
        guard nights > 1 else { return }
        let managers = persons.indices.filter { reports[$0] > 0 && persons[$0].level >= 2 && persons[$0].level <= 5 }
        guard !managers.isEmpty else { return }
        let count = Int((Double(persons.count) * 0.05).rounded())
        for _ in 0..<count {
            var mgr = managers[rng.int(managers.count)]
            for _ in 0..<8 where reports[mgr] >= 12 { mgr = managers[rng.int(managers.count)] }
            let join = 1 + rng.int(nights - 1)
            addPerson(manager: mgr, level: Int(persons[mgr].level) + 1, join: join, &rng)
            persons[persons.count - 1].orgBefore = persons[mgr].orgBefore
        }
    }

    /// About 4% of the starting individual contributors leave over the horizon.
    private mutating func pickLeavers(_ rng: inout DemoRandom) {
        guard nights > 1 else { return }
        for i in persons.indices where persons[i].join == 0 && reports[i] == 0 && persons[i].level >= 2 {
            if rng.chance(0.04) { persons[i].leave = Int16(1 + rng.int(nights - 1)) }
        }
    }

    /// One level-3 team (a manager and their subtree) moves under a level-2 manager of another department.
    private mutating func pickReorg(_ rng: inout DemoRandom) {
        let roots = persons.indices.filter { persons[$0].level == 3 && reports[$0] > 0 && persons[$0].join == 0 }
        guard !roots.isEmpty else { return }
        reorgRoot = roots[rng.int(roots.count)]
        let from = department[reorgRoot]
        let targets = persons.indices.filter {
            persons[$0].level == 2 && department[$0] != from && reports[$0] > 0 && persons[$0].join == 0
        }
        guard !targets.isEmpty else {
            reorgRoot = 0
            return
        }
        reorgNewManager = targets[rng.int(targets.count)]
    }

    /// One person with a manager missing from the directory; two with no manager at all.
    private mutating func pickOddities(_ rng: inout DemoRandom) {
        let candidates = persons.indices.filter {
            persons[$0].level >= 3 && reports[$0] == 0 && persons[$0].join == 0 && persons[$0].leave == Int16.max
                && reports[Int(persons[$0].manager)] > 4
        }
        guard candidates.count >= 3 else { return }
        dangling = candidates[rng.int(candidates.count)]
        var picked = 0
        for c in candidates.shuffledPrefix(&rng, 8) where c != dangling && picked < 2 {
            let m = Int(persons[c].manager)
            guard reports[m] > 4 else { continue }
            reports[m] -= 1
            persons[c].manager = -1
            picked += 1
        }
        if dangling != 0 { reports[Int(persons[dangling].manager)] -= 1 }
    }

    /// Moved team members take the organization of their new manager; everyone else keeps theirs.
    private mutating func computeAfterReorg() {
        var moved = [Bool](repeating: false, count: persons.count)
        let newOrg: Int16 = persons[reorgNewManager].orgBefore
        for i in persons.indices {
            let m = Int(persons[i].manager)
            moved[i] = reorgRoot != 0 && (i == reorgRoot || (m >= 0 && moved[m]))
            persons[i].orgAfter = moved[i] ? newOrg : persons[i].orgBefore
        }
    }

    private mutating func assignTitles(_ rng: inout DemoRandom) {
        titles.reserveCapacity(persons.count)
        let vpTitles: [String] = PeopleBuilder.departments.map { "VP, " + $0 }
        for i in persons.indices {
            let p = persons[i]
            let d = max(department[i], 0)
            let title: String
            switch (p.level, reports[i] > 0 || i == reorgRoot) {
            case (0, _): title = "Chief Executive Officer"
            case (1, _): title = vpTitles[d]
            case (2, true): title = rng.chance(0.3) ? "Senior Director" : "Director"
            case (_, true): title = rng.chance(0.4) ? "Senior Manager" : "Manager"
            default:
                let pool = PeopleBuilder.icTitles[d % PeopleBuilder.icTitles.count]
                title = pool[rng.int(pool.count)]
            }
            titles.append(title)
        }
    }
}
