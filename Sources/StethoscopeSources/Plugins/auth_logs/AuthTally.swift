import Foundation
import StethoscopeCore

/// Per identifier and user, the distinct days of authentication inside the window and the last one, in memory
/// bounded by identifiers × users seen together (never by records): users and identifiers are interned once,
/// and each pair keeps one bit per window day. One reader task owns a tally; it hands back `filled()`, a value.
final class AuthTally {
    let windowStart: Int64
    let windowEnd: Int64
    let firstDay: Int64
    let words: Int

    private(set) var userNames: [[UInt8]] = []
    private var userByHash: [UInt64: Int32] = [:]
    private var userByBytes: [[UInt8]: Int32] = [:]  // the rare hash collision
    private var others: [RawIdentifier: Int32] = [:]
    private(set) var otherIdentifiers: [RawIdentifier] = []
    /// Pairs (identifier, user) in one open-addressing table whose entries hold everything a record updates, so a
    /// record of a pair already seen costs one probe into one cache line and no allocation. An entry is `stride`
    /// words: the identifier's key + 1 (0: empty; a MAC's 48 bits, or `1 << 63 | index` of another kind's value),
    /// the user name's hash, the last time, the user's index, then one bit per window day.
    private var table: UnsafeMutablePointer<UInt64>
    private var capacity = 1 << 12
    private(set) var pairs = 0
    let stride: Int
    /// Events inside the window, and outside it (older rotated files, clocks in the future).
    var counted = 0
    var outside = 0

    init(windowEnd: Date, windowDays: Int) {
        self.windowEnd = Int64(windowEnd.timeIntervalSince1970.rounded(.down))
        windowStart = self.windowEnd - Int64(windowDays) * 86_400
        firstDay = Self.day(windowStart)
        words = Int((Self.day(self.windowEnd) - firstDay) / 64 + 1)
        stride = 4 + words
        table = .allocate(capacity: capacity * stride)
        table.initialize(repeating: 0, count: capacity * stride)
    }

    deinit { table.deallocate() }

    @inline(__always) static func day(_ t: Int64) -> Int64 { t >= 0 ? t / 86_400 : (t - 86_399) / 86_400 }

    /// FNV-1a: users are short, and one multiply per byte beats hashing a `String` built per record.
    @inline(__always) static func hash(_ b: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for c in b { h = (h ^ UInt64(c)) &* 0x100_0000_01b3 }
        return h
    }

    func user(_ b: UnsafeBufferPointer<UInt8>) -> Int32 {
        let h = Self.hash(b)
        if let i = userByHash[h] {
            if userNames[Int(i)].elementsEqual(b) { return i }
            let bytes = Array(b)
            if let j = userByBytes[bytes] { return j }
            let j = Int32(userNames.count)
            userNames.append(bytes)
            userByBytes[bytes] = j
            return j
        }
        let i = Int32(userNames.count)
        userNames.append(Array(b))
        userByHash[h] = i
        return i
    }

    /// The key of a non-MAC identifier (`1 << 63 | index`).
    func other(_ raw: RawIdentifier) -> UInt64 {
        if let i = others[raw] { return 1 << 63 | UInt64(i) }
        let i = Int32(otherIdentifiers.count)
        otherIdentifiers.append(raw)
        others[raw] = i
        return 1 << 63 | UInt64(i)
    }

    @inline(__always) private func slot(_ id: UInt64, _ h: UInt64, _ mask: Int) -> Int {
        var x = (id &* 0x9E37_79B9_7F4A_7C15) ^ h
        x ^= x >> 29
        return Int(truncatingIfNeeded: (x &* 0xBF58_476D_1CE4_E5B9) >> 20) & mask
    }

    /// One authentication from identifier `id` by the user whose name hashes to `h` at `time` (seconds since 1970);
    /// `name` interns the user the first time the pair is seen. Two different names with one 64-bit hash would share
    /// pairs: with a million names that is a chance of one in ten million.
    @inline(__always) func add(id: UInt64, hash h: UInt64, time: Int64, name: () -> Int32) {
        guard time > windowStart, time <= windowEnd else {
            outside += 1
            return
        }
        counted += 1
        let key = id &+ 1
        let mask = capacity - 1
        var i = slot(id, h, mask)
        var e = table + i * stride
        while e[0] != 0 && (e[0] != key || e[1] != h) {
            i = (i + 1) & mask
            e = table + i * stride
        }
        if e[0] == 0 {
            e[0] = key
            e[1] = h
            e[2] = UInt64(bitPattern: time)
            e[3] = UInt64(UInt32(bitPattern: name()))
            pairs += 1
        }
        let d = Int(Self.day(time) - firstDay)
        e[4 + d >> 6] |= 1 << UInt64(d & 63)
        if time > Int64(bitPattern: e[2]) { e[2] = UInt64(bitPattern: time) }
        if pairs * 2 > capacity { grow() }
    }

    /// A parsed record waiting in a batch; `user` points into the reader's buffer, so a batch is added before the
    /// buffer is reused.
    struct Pending {
        var id: UInt64
        var hash: UInt64
        var time: Int64
        var user: UnsafeBufferPointer<UInt8>
    }
    private var touched: UInt64 = 0

    /// Adds a batch of records: first one load of each entry's cache line (independent loads, so the memory system
    /// fetches them side by side), then the updates, which find them in cache. A table larger than the caches makes
    /// one waited-for miss per record the cost of the whole read otherwise.
    func add(_ batch: [Pending]) {
        let mask = capacity - 1
        var sink: UInt64 = 0
        for p in batch { sink &+= table[slot(p.id, p.hash, mask) * stride] }
        touched &+= sink
        for p in batch { add(id: p.id, hash: p.hash, time: p.time) { user(p.user) } }
    }

    /// What a reader hands back once its files are read: the occupied entries, packed, and the names they point to.
    struct Filled: Sendable {
        let userNames: [[UInt8]]
        let otherIdentifiers: [RawIdentifier]
        /// `stride` words per pair, in the table's layout.
        let entries: [UInt64]
        let stride: Int
        let words: Int
        let counted: Int
        let outside: Int
    }

    func filled() -> Filled {
        var entries: [UInt64] = []
        entries.reserveCapacity(pairs * stride)
        for j in 0..<capacity where table[j * stride] != 0 {
            entries.append(contentsOf: UnsafeBufferPointer(start: table + j * stride, count: stride))
        }
        return Filled(
            userNames: userNames, otherIdentifiers: otherIdentifiers, entries: entries, stride: stride, words: words, counted: counted,
            outside: outside)
    }

    private func grow() {
        let old = table
        let oldCapacity = capacity
        capacity *= 2
        table = .allocate(capacity: capacity * stride)
        table.initialize(repeating: 0, count: capacity * stride)
        let mask = capacity - 1
        for j in 0..<oldCapacity {
            let src = old + j * stride
            guard src[0] != 0 else { continue }
            var i = slot(src[0] &- 1, src[1], mask)
            while table[i * stride] != 0 { i = (i + 1) & mask }
            (table + i * stride).update(from: src, count: stride)
        }
        old.deallocate()
    }

    /// The attribution rule (README, "BYOD"): per identifier, users mapped to people (`map` returns nil for a name
    /// that is no person, e.g. machine authentication); the owner has the most distinct days, ties broken by the
    /// most recent; two or more users each above `sharedShare` of the identifier's user-days make it shared.
    /// Tallies of several readers (files read in parallel) are combined here: a person's days on an identifier are
    /// the union of them.
    static func assignments(
        _ tallies: [Filled], via: String, sharedShare: Double,
        map: (String) -> String?
    ) -> [(RawIdentifier, OwnerAssignment)] {
        // Per identifier its few users: MACs by their bits (no string per pair), other kinds by value.
        struct Use {
            var person: String
            var bits: [UInt64]
            var last: Int64
        }
        func merge(_ list: inout [Use], _ person: String, _ e: UnsafeBufferPointer<UInt64>.SubSequence, _ words: Int) {
            let b = e.startIndex
            let last = Int64(bitPattern: e[b + 2])
            if let k = list.firstIndex(where: { $0.person == person }) {
                for w in 0..<words { list[k].bits[w] |= e[b + 4 + w] }
                list[k].last = max(list[k].last, last)
            } else {
                list.append(Use(person: person, bits: Array(e[(b + 4)..<(b + 4 + words)]), last: last))
            }
        }
        var macs: [UInt64: [Use]] = [:]
        var others: [RawIdentifier: [Use]] = [:]
        var mapped: [String: String?] = [:]
        for tally in tallies {
            var people = [String??](repeating: nil, count: tally.userNames.count)
            tally.entries.withUnsafeBufferPointer { all in
                for start in Swift.stride(from: 0, to: all.count, by: tally.stride) {
                    let e = all[start..<(start + tally.stride)]
                    let u = Int(UInt32(truncatingIfNeeded: e[start + 3]))
                    let id = e[start] &- 1
                    if people[u] == nil {
                        let name = String(decoding: tally.userNames[u], as: UTF8.self)
                        if let m = mapped[name] {
                            people[u] = .some(m)
                        } else {
                            let m = map(name)
                            mapped[name] = m
                            people[u] = .some(m)
                        }
                    }
                    guard let person = people[u]! else { continue }
                    if id >> 63 == 1 {
                        merge(&others[tally.otherIdentifiers[Int(id & 0x7FFF_FFFF)], default: []], person, e, tally.words)
                    } else {
                        merge(&macs[id, default: []], person, e, tally.words)
                    }
                }
            }
        }
        func rank(_ raw: RawIdentifier, _ users: [Use]) -> OwnerAssignment {
            var ranked: [(user: String, days: Int, last: Int64)] = users.map { u in
                var days = 0
                for w in u.bits { days += w.nonzeroBitCount }
                return (u.person, days, u.last)
            }
            if ranked.count > 1 {
                ranked.sort { a, b in a.days != b.days ? a.days > b.days : a.last != b.last ? a.last > b.last : a.user < b.user }
            }
            var total = 0
            for r in ranked { total += r.days }
            let above = ranked.count < 2 ? [] : ranked.filter { Double($0.days) > sharedShare * Double(total) }
            let top = ranked[0]
            let evidence = OwnerEvidence(
                via: via, days: top.days, lastSeen: Date(timeIntervalSince1970: Double(top.last)),
                userDays: total, sharedWith: above.count >= 2 ? above.map { $0.user } : [])
            return OwnerAssignment(raw, email: top.user, evidence: evidence)
        }
        var out: [(RawIdentifier, OwnerAssignment)] = []
        out.reserveCapacity(macs.count + others.count)
        for id in macs.keys.sorted() {
            let raw = RawIdentifier(.mac, macText(id))
            out.append((raw, rank(raw, macs[id]!)))
        }
        for raw in others.keys.sorted(by: { $0.kind != $1.kind ? $0.kind < $1.kind : $0.value < $1.value }) {
            out.append((raw, rank(raw, others[raw]!)))
        }
        return out
    }

    static func macText(_ bits: UInt64) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for i in 0..<6 {
            if i > 0 { out.append(58) }
            let byte = UInt8(truncatingIfNeeded: bits >> (40 - 8 * UInt64(i)))
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
