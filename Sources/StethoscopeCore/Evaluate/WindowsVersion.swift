/// Windows versions as one comparable number, `10.0.<build>[.<revision>]`.
///
/// Windows reports itself in several shapes: `10.0.19045` (MECM, Intune), a bare build `19045` or
/// `19045.3803` (LANDESK `OSNT.CURRENTBUILD`), a release id `22H2` / `1909`, a product with a release
/// (`Windows 11 23H2`), or an old kernel version `6.1.7601`. Release ids are ambiguous on their own
/// (Windows 10 and 11 both have a 22H2), so a bare id means Windows 10, which is where ids came from;
/// write `11 22H2` for Windows 11. Windows 11 kept the 10.0 kernel version, so builds order every release.
public enum WindowsVersion {
    /// Windows 10 release id → build (the registry's `ReleaseId` stopped at `2009`, which is 20H2).
    public static let windows10: [String: Int] = [
        "1507": 10240, "1511": 10586, "1607": 14393, "1703": 15063, "1709": 16299, "1803": 17134,
        "1809": 17763, "1903": 18362, "1909": 18363, "2004": 19041, "2009": 19042, "20H2": 19042,
        "21H1": 19043, "21H2": 19044, "22H2": 19045
    ]
    /// Windows 11 release id → build.
    public static let windows11: [String: Int] = [
        "21H2": 22000, "22H2": 22621, "23H2": 22631, "24H2": 26100, "25H2": 26200
    ]
    /// The first Windows 11 build: builds from here on are Windows 11 even though the kernel says 10.0.
    public static let firstWindows11Build = 22000

    /// Parses any of the shapes above; `nil` when the text holds no Windows version.
    public static func number(_ text: String) -> VersionNumber? {
        let runs = numberRuns(text)
        // A full dotted version wins wherever it is ("Microsoft Windows 11 Enterprise 10.0.22631").
        if let dotted = runs.first(where: { $0.parts.count >= 3 }) {
            return dotted.parts[0] >= 10_000 ? VersionNumber(parts: [10, 0] + dotted.parts) : dotted
        }
        if let release = releaseBuild(text) { return VersionNumber(parts: [10, 0, release]) }
        guard let first = runs.first else { return nil }
        // A build, optionally with its revision: 19045 or 19045.3803.
        if first.parts[0] >= 10_000 { return VersionNumber(parts: [10, 0] + first.parts) }
        // A bare product number ("Windows 11") says too little to compare.
        return first.parts.count >= 2 ? first : nil
    }

    /// A version from the columns inventory databases keep apart (LANDESK's `OSNT`, MECM's
    /// `v_GS_OPERATING_SYSTEM`): the build first, then a full version, then the release id and product name.
    public static func compose(build: String?, version: String?, release: String?, osName: String?) -> String? {
        let buildNumber = build.flatMap { VersionNumber($0) }
        if let b = buildNumber, b.parts[0] >= 10_000 { return "10.0." + b.description }
        if let v = version.flatMap(number), v.parts.count >= 3 { return v.description }
        if let b = buildNumber, let kernel = version.flatMap({ VersionNumber($0) }), kernel.parts.count == 2, kernel.parts[0] < 10 {
            return VersionNumber(parts: kernel.parts + b.parts).description  // 6.1 + 7601
        }
        if let release, let osName {
            let eleven = osName.contains("11")
            let table = eleven ? windows11 : windows10
            if let b = table[release.uppercased().trimmingCharacters(in: .whitespaces)] { return "10.0.\(b)" }
        }
        if let release, let b = windows10[release.uppercased().trimmingCharacters(in: .whitespaces)] { return "10.0.\(b)" }
        return nil
    }

    /// Names a Windows version that gets no security updates at all (anything before Windows 10).
    public static func unsupported(_ v: VersionNumber) -> String? {
        guard v.parts[0] < 10 else { return nil }
        let minor = v.parts.count > 1 ? v.parts[1] : 0
        switch (v.parts[0], minor) {
        case (6, 3): return "Windows 8.1"
        case (6, 2): return "Windows 8"
        case (6, 1): return "Windows 7"
        case (6, 0): return "Windows Vista"
        case (5, _): return "Windows XP"
        default: return "Windows NT \(v.parts[0]).\(minor)"
        }
    }

    /// Names a Windows product that gets no security updates when the text names one and holds no full version:
    /// "Microsoft Windows 7 Professional", "Windows XP", "Windows Server 2008 R2" (the products before Windows 10
    /// that `unsupported` names by kernel version). `nil` for Windows 10 and 11 and for unknown names.
    public static func unsupportedProduct(named text: String) -> String? {
        let words = text.uppercased().split { !$0.isLetter && !$0.isNumber && $0 != "." }.map(String.init)
        guard let at = words.firstIndex(where: { $0 == "WINDOWS" || $0 == "WIN" }) else { return nil }
        var rest = Array(words[(at + 1)...])
        var server = false
        if rest.first == "SERVER" {
            server = true
            rest.removeFirst()
        }
        guard let product = rest.first else { return nil }
        let r2 = rest.dropFirst().first == "R2"
        if server {
            switch product {
            case "2000": return "Windows 2000 Server"
            case "2003": return r2 ? "Windows Server 2003 R2" : "Windows Server 2003"
            case "2008": return r2 ? "Windows Server 2008 R2" : "Windows Server 2008"
            case "2012": return r2 ? "Windows Server 2012 R2" : "Windows Server 2012"
            default: return nil
            }
        }
        switch product {
        case "XP": return "Windows XP"
        case "VISTA": return "Windows Vista"
        case "7": return "Windows 7"
        case "8": return "Windows 8"
        case "8.1": return "Windows 8.1"
        case "2000": return "Windows 2000"
        case "NT", "95", "98", "ME": return "Windows \(product == "ME" ? "Me" : product)"
        default: return nil
        }
    }

    /// "Windows 10 22H2", "Windows 11 23H2" for a known build; `nil` otherwise.
    public static func releaseName(_ v: VersionNumber) -> String? {
        guard v.parts.count >= 3, v.parts[0] == 10 else { return nil }
        let build = v.parts[2]
        let eleven = build >= firstWindows11Build
        let table = eleven ? windows11 : windows10
        guard let id = table.filter({ $0.value == build && $0.key != "2009" }).keys.first else { return nil }
        return "Windows \(eleven ? 11 : 10) \(id)"
    }

    /// `[10|11] <release id>` anywhere in the text, e.g. "Windows 11 23H2", "win10 1909", "22H2".
    static func releaseBuild(_ text: String) -> Int? {
        let words = text.uppercased().split { !$0.isLetter && !$0.isNumber }.map(String.init)
        for (i, word) in words.enumerated() {
            var id = word
            var product = 10
            if id.hasPrefix("WIN") { id = String(id.dropFirst(3)) }
            if i > 0 {
                let previous = words[i - 1].replacingOccurrences(of: "WINDOWS", with: "").replacingOccurrences(of: "WIN", with: "")
                if previous == "11" { product = 11 }
            }
            let table = product == 11 ? windows11 : windows10
            if let b = table[id] { return b }
        }
        return nil
    }

    static func numberRuns(_ text: String) -> [VersionNumber] {
        var runs: [VersionNumber] = []
        var current = ""
        for ch in text + " " {
            if ch.isASCII && (ch.isNumber || (ch == "." && !current.isEmpty)) {
                current.append(ch)
                continue
            }
            if let v = VersionNumber(current) { runs.append(v) }
            current = ""
        }
        return runs
    }
}

extension VersionNumber {
    /// A version from its parts (at least one).
    public init(parts: [Int]) {
        precondition(!parts.isEmpty, "a version has at least one part")
        self.parts = parts
    }
}
