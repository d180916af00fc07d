import Foundation
import StethoscopeCore

/// FreeRADIUS accounting *detail* files, as the `detail` module writes them: each record is a header line (the
/// time it was written, `Thu Dec  3 15:46:02 2026`), then one tab-indented `Attribute = value` line per attribute
/// (strings quoted, `\\` and `\"` escaped), then a blank line. Only `User-Name`, `Calling-Station-Id`,
/// `Event-Timestamp`, `Timestamp` and `Acct-Status-Type` are read; lines are scanned as bytes, never as strings,
/// since a company's month of accounting is millions of records.
struct DetailParser {
    let tally: AuthTally
    // The record being read.
    private var hasUser = false
    private var userHash: UInt64 = 0
    /// The user name's bytes: in the current read buffer (`userAt`) while it lasts, copied (`userName`, unescaped)
    /// when it has escapes or the record outlives the buffer.
    private var userAt: UnsafeBufferPointer<UInt8>?
    private var userName: [UInt8] = []
    /// The header line, parsed only when the record has neither `Event-Timestamp` nor `Timestamp`.
    private var headerAt: UnsafeBufferPointer<UInt8>?
    private var batch: [AuthTally.Pending] = []
    private var mac: UInt64 = 0
    private var hasMAC = false
    private var badMAC = false
    private var eventTime: Int64?
    private var stamp: Int64?
    private var headerTime: Int64?
    private var skip = false
    private var inRecord = false
    /// Records used, and those left out with why (kind → count).
    var records = 0
    var problems: [String: Int] = [:]
    var firstProblem: String?
    var line = 0

    init(tally: AuthTally) {
        self.tally = tally
        batch.reserveCapacity(Self.batchSize)
    }
    static let batchSize = 48

    mutating func feed(_ b: UnsafeBufferPointer<UInt8>) {
        guard let base = b.baseAddress else { return }
        var i = 0
        let n = b.count
        while i < n {
            let start = i
            let end: Int
            if let nl = memchr(base + i, 10, n - i) {
                end = base.distance(to: nl.assumingMemoryBound(to: UInt8.self))
            } else {
                end = n
            }
            i = end + 1
            line += 1
            var e = end
            if e > start && base[e - 1] == 13 { e -= 1 }  // CRLF
            lineAt(base + start, e - start)
        }
        // The buffer is reused after this: add the batch, keep what the open record still points into.
        if !batch.isEmpty {
            tally.add(batch)
            batch.removeAll(keepingCapacity: true)
        }
        if let u = userAt {
            userName = Array(u)
            userAt = nil
        }
        if let h = headerAt {
            headerTime = Self.headerTime(h.baseAddress!, h.count)
            headerAt = nil
        }
    }

    private static let userNameKey = Array("User-Name = ".utf8)
    private static let calling = Array("Calling-Station-Id = ".utf8)
    private static let event = Array("Event-Timestamp = ".utf8)
    private static let timestamp = Array("Timestamp = ".utf8)
    private static let status = Array("Acct-Status-Type = ".utf8)

    @inline(__always) private static func has(_ p: UnsafePointer<UInt8>, _ n: Int, _ prefix: [UInt8]) -> Bool {
        n >= prefix.count && prefix.withUnsafeBufferPointer { memcmp(p, $0.baseAddress!, prefix.count) == 0 }
    }

    /// The first eight bytes of an attribute line as one word: most lines are told apart with one comparison.
    private enum Word {
        static let user: UInt64 = 0x6d61_4e2d_7265_7355  // "User-Nam"
        static let calling: UInt64 = 0x2d67_6e69_6c6c_6143  // "Calling-"
        static let event: UInt64 = 0x6954_2d74_6e65_7645  // "Event-Ti"
        static let timestamp: UInt64 = 0x6d61_7473_656d_6954  // "Timestam"
        static let status: UInt64 = 0x6174_532d_7463_6341  // "Acct-Sta"
    }

    @inline(__always) private mutating func lineAt(_ p: UnsafePointer<UInt8>, _ n: Int) {
        if n == 0 {
            finish()
            return
        }
        if p[0] != 9 && p[0] != 32 {
            // A header line starts the next record (even without the blank line a cut-off writer failed to write).
            finish()
            inRecord = true
            headerAt = UnsafeBufferPointer(start: p, count: n)
            return
        }
        var a = p
        var m = n
        while m > 0 && (a[0] == 9 || a[0] == 32) {
            a += 1
            m -= 1
        }
        guard m > 0 else {
            finish()
            return
        }
        inRecord = true
        guard m >= 12 else { return }
        switch UnsafeRawPointer(a).loadUnaligned(as: UInt64.self) {
        case Word.user where Self.has(a, m, Self.userNameKey):
            let v = Self.value(a + Self.userNameKey.count, m - Self.userNameKey.count)
            if let vb = v.baseAddress, memchr(vb, 92, v.count) != nil {
                userName = Self.unescape(v)
                userAt = nil
                userHash = userName.withUnsafeBufferPointer(AuthTally.hash)
            } else {
                userAt = v
                userHash = AuthTally.hash(v)
            }
            hasUser = !v.isEmpty
        case Word.calling where Self.has(a, m, Self.calling):
            let v = Self.value(a + Self.calling.count, m - Self.calling.count)
            if let bits = Self.macBits(v) {
                mac = bits
                hasMAC = true
            } else {
                badMAC = true
            }
        case Word.event where Self.has(a, m, Self.event):
            eventTime = cachedEventTime(Self.value(a + Self.event.count, m - Self.event.count))
        case Word.timestamp where eventTime == nil && Self.has(a, m, Self.timestamp):
            stamp = Self.integer(Self.value(a + Self.timestamp.count, m - Self.timestamp.count))
        case Word.status where Self.has(a, m, Self.status):
            let v = Self.value(a + Self.status.count, m - Self.status.count)
            // Accounting-On/Off are the access point's own restarts, with no user or device.
            if v.count >= 10, v[0] == 65, v[1] == 99, v[2] == 99 { skip = true }  // "Accounting-…"
            if v.count == 1, v[0] == 55 || v[0] == 56 { skip = true }  // 7, 8
        default: break
        }
    }

    /// Records come in time order, so most share the previous one's date (`Dec 03 2026`): only the time is parsed.
    private var lastDate: (UInt64, UInt32) = (0, 0)
    private var lastDateStart: Int64 = 0

    @inline(__always) private mutating func cachedEventTime(_ v: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard v.count == 24, v[11] == 32, v[14] == 58, v[17] == 58, let base = v.baseAddress else { return Self.eventTime(v) }
        let raw = UnsafeRawPointer(base)
        let date = (raw.loadUnaligned(as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self) & 0xFFFFFF)
        func digit(_ i: Int) -> Int64? { v[i] >= 48 && v[i] <= 57 ? Int64(v[i] - 48) : nil }
        guard let h1 = digit(12), let h2 = digit(13), let m1 = digit(15), let m2 = digit(16), let s1 = digit(18), let s2 = digit(19),
            v[20] == 32, v[21] == 85, v[22] == 84, v[23] == 67
        else { return Self.eventTime(v) }  // " UTC"
        if date != lastDate {
            guard let full = Self.eventTime(v) else { return nil }
            lastDate = date
            lastDateStart = full - full % 86_400
            return full
        }
        return lastDateStart + (h1 * 10 + h2) * 3600 + (m1 * 10 + m2) * 60 + s1 * 10 + s2
    }

    /// Ends the current record: counts it when it names a user, a device and a time.
    mutating func finish() {
        defer {
            hasUser = false
            userAt = nil
            headerAt = nil
            hasMAC = false
            badMAC = false
            eventTime = nil
            stamp = nil
            headerTime = nil
            skip = false
            inRecord = false
        }
        guard inRecord, !skip else { return }
        guard hasUser else {
            problem("no_user_name")
            return
        }
        guard hasMAC else {
            problem(badMAC ? "calling_station_not_a_mac" : "no_calling_station_id")
            return
        }
        if eventTime == nil, stamp == nil, let h = headerAt { headerTime = Self.headerTime(h.baseAddress!, h.count) }
        guard let t = eventTime ?? stamp ?? headerTime else {
            problem("no_time")
            return
        }
        records += 1
        if let u = userAt {
            batch.append(AuthTally.Pending(id: mac, hash: userHash, time: t, user: u))
            if batch.count == Self.batchSize {
                tally.add(batch)
                batch.removeAll(keepingCapacity: true)
            }
        } else {
            tally.add(id: mac, hash: userHash, time: t) { userName.withUnsafeBufferPointer { tally.user($0) } }
        }
    }

    private mutating func problem(_ kind: String) {
        problems[kind, default: 0] += 1
        if firstProblem == nil { firstProblem = "record ending at line \(line): \(kind.replacingOccurrences(of: "_", with: " "))" }
    }

    /// The value after `=`: a quoted string's inside (its closing quote and anything after it dropped), else as is.
    @inline(__always) static func value(_ p: UnsafePointer<UInt8>, _ n: Int) -> UnsafeBufferPointer<UInt8> {
        guard n > 0, p[0] == 34 else { return UnsafeBufferPointer(start: p, count: n) }
        var e = n
        while e > 1 && p[e - 1] != 34 { e -= 1 }
        return UnsafeBufferPointer(start: p + 1, count: e > 1 ? e - 2 : n - 1)
    }

    static func unescape(_ v: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(v.count)
        var i = 0
        while i < v.count {
            if v[i] == 92, i + 1 < v.count { i += 1 }
            out.append(v[i])
            i += 1
        }
        return out
    }

    /// A MAC in any notation (`AA-BB-CC-DD-EE-FF`, `aabb.ccdd.eeff`, `AABBCCDDEEFF`), `nil` when not 12 hex digits.
    @inline(__always) static func macBits(_ v: UnsafeBufferPointer<UInt8>) -> UInt64? {
        var bits: UInt64 = 0
        var count = 0
        for c in v {
            let d: UInt8
            switch c {
            case 48...57: d = c &- 48
            case 65...70: d = c &- 55
            case 97...102: d = c &- 87
            case 58, 45, 46, 32: continue
            default: return nil
            }
            count += 1
            if count > 12 { return nil }
            bits = bits << 4 | UInt64(d)
        }
        return count == 12 ? bits : nil
    }

    static func integer(_ v: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard !v.isEmpty, v.count <= 12 else { return nil }
        var x: Int64 = 0
        for c in v {
            guard c >= 48 && c <= 57 else { return nil }
            x = x * 10 + Int64(c - 48)
        }
        return x
    }

    /// `Nov 24 2025 16:00:00 UTC` (FreeRADIUS 3) or seconds since 1970. A zone other than UTC/GMT is the server's
    /// local time, which the file does not define: then `nil`, so the record's `Timestamp` (UTC seconds) is used.
    static func eventTime(_ v: UnsafeBufferPointer<UInt8>) -> Int64? {
        if let x = integer(v) { return x }
        guard v.count >= 20, let month = month(v[0], v[1], v[2]) else { return nil }
        func num(_ at: Int, _ len: Int) -> Int? {
            var x = 0
            var seen = false
            for i in at..<(at + len) where v[i] != 32 {
                guard v[i] >= 48 && v[i] <= 57 else { return nil }
                x = x * 10 + Int(v[i] - 48)
                seen = true
            }
            return seen ? x : nil
        }
        guard let d = num(4, 2), let y = num(7, 4), let h = num(12, 2), let mi = num(15, 2), let s = num(18, 2) else { return nil }
        if v.count > 20 {
            let zone = UnsafeBufferPointer(rebasing: v[21...])
            guard zone.elementsEqual("UTC".utf8) || zone.elementsEqual("GMT".utf8) else { return nil }
        }
        return epoch(y, month, d, h, mi, s)
    }

    /// The header line `Thu Dec  3 15:46:02 2026`: the server's local time of writing, read as UTC (a last resort).
    static func headerTime(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int64? {
        guard n >= 24, let month = month(p[4], p[5], p[6]) else { return nil }
        func num(_ at: Int, _ len: Int) -> Int? {
            var x = 0
            var seen = false
            for i in at..<(at + len) where p[i] != 32 {
                guard p[i] >= 48 && p[i] <= 57 else { return nil }
                x = x * 10 + Int(p[i] - 48)
                seen = true
            }
            return seen ? x : nil
        }
        guard let d = num(8, 2), let h = num(11, 2), let mi = num(14, 2), let s = num(17, 2), let y = num(20, 4) else { return nil }
        return epoch(y, month, d, h, mi, s)
    }

    static func month(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> Int? {
        switch (a | 0x20, b | 0x20, c | 0x20) {
        case (106, 97, 110): 1
        case (102, 101, 98): 2
        case (109, 97, 114): 3
        case (97, 112, 114): 4
        case (109, 97, 121): 5
        case (106, 117, 110): 6
        case (106, 117, 108): 7
        case (97, 117, 103): 8
        case (115, 101, 112): 9
        case (111, 99, 116): 10
        case (110, 111, 118): 11
        case (100, 101, 99): 12
        default: nil
        }
    }

    /// Seconds since 1970 of a UTC civil time (Howard Hinnant's days-from-civil).
    static func epoch(_ y0: Int, _ m: Int, _ d: Int, _ h: Int, _ mi: Int, _ s: Int) -> Int64? {
        guard (1...31).contains(d), h < 24, mi < 60, s < 61 else { return nil }
        let days = AsOfDate.daysFromCivil(y0, m, d)
        return Int64(days) * 86_400 + Int64(h * 3600 + mi * 60 + s)
    }
}
