/// Devices (or people) by status: one practice's counts in a group or for one person, subscripted by `Status`.
public struct StatusCounts: Equatable, Sendable {
    private var ok: Int32 = 0, nudge: Int32 = 0, warn: Int32 = 0, unknown: Int32 = 0, na: Int32 = 0

    public init() {}

    /// Devices the practice applies to: every status but `na`.
    public var applicable: Int { Int(ok) + Int(nudge) + Int(warn) + Int(unknown) }

    /// Statuses by the codes the pass reads them as (`Status.allCases` order: ok, nudge, warn, unknown, na).
    public static let byCode = Status.allCases

    public subscript(status: Status) -> Int32 {
        get {
            switch status {
            case .ok: ok
            case .nudge: nudge
            case .warn: warn
            case .unknown: unknown
            case .na: na
            }
        }
        set {
            switch status {
            case .ok: ok = newValue
            case .nudge: nudge = newValue
            case .warn: warn = newValue
            case .unknown: unknown = newValue
            case .na: na = newValue
            }
        }
    }

    public var isZero: Bool { self == StatusCounts() }

    public static func += (a: inout StatusCounts, b: StatusCounts) {
        a.ok += b.ok
        a.nudge += b.nudge
        a.warn += b.warn
        a.unknown += b.unknown
        a.na += b.na
    }

    /// 1 for each status with a device: the person counts once per status in `rollups.people`.
    public var presence: StatusCounts {
        var p = StatusCounts()
        for status in Status.allCases where self[status] > 0 { p[status] = 1 }
        return p
    }
}

/// A group's totals for a night (the `rollup_groups` numbers).
public struct GroupTotals: Sendable {
    public var devices: Int32 = 0, stale: Int32 = 0, people: Int32 = 0, green: Int32 = 0, critical: Int32 = 0, newlyFailing: Int32 = 0
    public init() {}
    /// Devices counted in the green rate: all but the stale ones.
    public var counted: Int { Int(devices - stale) }
}
