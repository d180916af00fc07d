/// A dotted version ("14.2.1", "10.0.19045", "Android 13") compared number by number; missing parts are 0.
public struct VersionNumber: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let parts: [Int]

    /// Reads the first run of digits and dots; `nil` when the text holds no number.
    public init?(_ text: String) {
        var parts: [Int] = []
        var current: Int? = nil
        var started = false
        for ch in text.utf8 {
            if ch >= 48 && ch <= 57 {
                started = true
                current = (current ?? 0) &* 10 &+ Int(ch - 48)
            } else if ch == 46 && started {  // '.'
                parts.append(current ?? 0)
                current = nil
            } else if started {
                break
            }
        }
        if let current { parts.append(current) }
        guard !parts.isEmpty else { return nil }
        self.parts = parts
    }

    public var description: String {
        var s = ""
        for (i, p) in parts.enumerated() {
            if i > 0 { s += "." }
            s += String(p)
        }
        return s
    }

    public static func < (a: VersionNumber, b: VersionNumber) -> Bool {
        for i in 0..<max(a.parts.count, b.parts.count) {
            let x = i < a.parts.count ? a.parts[i] : 0
            let y = i < b.parts.count ? b.parts[i] : 0
            if x != y { return x < y }
        }
        return false
    }
    public static func == (a: VersionNumber, b: VersionNumber) -> Bool { !(a < b) && !(b < a) }
    public func hash(into h: inout Hasher) {
        var p = parts
        while p.last == 0 { p.removeLast() }
        h.combine(p)
    }
}
