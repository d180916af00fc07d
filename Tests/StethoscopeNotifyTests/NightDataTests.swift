import Foundation
import StethoscopeCore
import StethoscopeNotify
import StethoscopeStore
import Testing

/// `NightData.load` reads the compact tables directly and keeps only the owners with something to act on; these
/// tests hold it to what the `devices` and `practice_results` views say about the same night.
@Suite struct NightDataTests {
    /// One device as the views give it, with its failing results as `practice=status@since` in practice order.
    struct ViewDevice: Equatable, CustomStringConvertible {
        var id: Int, key: String, owner: String
        var platform: String?, osName: String?, osVersion: String?, model: String?, name: String?, lastSync: String?
        var sources: String, stale: Bool, green: Bool
        var failing: [String] = []
        var description: String { "\(key) of \(owner) failing \(failing)" }

        init(_ d: NightData.DeviceRow) {
            id = d.id
            key = d.key
            owner = d.owner
            platform = d.platform
            osName = d.osName
            osVersion = d.osVersion
            model = d.model
            name = d.name
            lastSync = d.lastSync
            sources = d.sources
            stale = d.stale
            green = d.green
            failing = d.failing.map { "\($0.practice)=\($0.status.rawValue)@\($0.since ?? "-")" }
        }

        init(
            id: Int, key: String, owner: String, platform: String?, osName: String?, osVersion: String?, model: String?,
            name: String?, lastSync: String?, sources: String, stale: Bool, green: Bool
        ) {
            self.id = id
            self.key = key
            self.owner = owner
            self.platform = platform
            self.osName = osName
            self.osVersion = osVersion
            self.model = model
            self.name = name
            self.lastSync = lastSync
            self.sources = sources
            self.stale = stale
            self.green = green
        }
    }

    /// Every owned device of `asOf` through the views (the way notify read a night before), by owner, in key order.
    func viaViews(_ db: Database, asOf: String) throws -> [String: [ViewDevice]] {
        let st = try db.prepare(
            """
            SELECT d.device_id, k.device_key, d.owner, d.platform, d.os_name, d.os_version, d.model, d.device_name, d.last_sync,
                   d.sources, d.stale, d.green
            FROM devices d JOIN device_keys k ON k.device_id = d.device_id
            WHERE d.as_of = ?1 AND d.owner IS NOT NULL ORDER BY k.device_key
            """)
        st.bind(1, asOf)
        var out: [String: [ViewDevice]] = [:]
        var byID: [Int: (String, Int)] = [:]
        while try st.step() {
            let owner = (st.string(2) ?? "").lowercased()
            byID[st.int(0)] = (owner, out[owner]?.count ?? 0)
            out[owner, default: []].append(
                ViewDevice(
                    id: st.int(0), key: st.string(1) ?? "", owner: owner, platform: st.string(3), osName: st.string(4),
                    osVersion: st.string(5), model: st.string(6), name: st.string(7), lastSync: st.string(8), sources: st.string(9) ?? "",
                    stale: st.int(10) != 0, green: st.int(11) != 0))
        }
        let results = try db.prepare(
            """
            SELECT r.device_id, r.practice, r.status, f.since FROM practice_results r
            LEFT JOIN failing_since f ON f.as_of = r.as_of AND f.device_id = r.device_id AND f.practice = r.practice
            LEFT JOIN practice_definitions p ON p.as_of = r.as_of AND p.practice = r.practice
            WHERE r.as_of = ?1 AND r.status <> 'ok' AND r.status <> 'na'
            ORDER BY r.device_id, coalesce(p.position, 999), r.practice
            """)
        results.bind(1, asOf)
        while try results.step() {
            guard let (owner, i) = byID[results.int(0)] else { continue }
            out[owner]![i].failing.append("\(results.string(1)!)=\(results.string(2)!)@\(results.string(3) ?? "-")")
        }
        return out
    }

    @Test func readsWhatTheViewsSayForEveryOwnerWithSomethingToActOn() async throws {
        let (_, store) = try await demoStore()
        let db = store.database
        // The other spellings of a sync time: a text that is not whole seconds, and none at all.
        let two = try db.rows(
            """
            SELECT DISTINCT dn.device_id FROM device_nights dn JOIN device_states ds ON ds.state_id = dn.state_id
            JOIN result_items i ON i.set_id = dn.results_id
            WHERE dn.as_of = '2026-11-03' AND ds.owner IS NOT NULL AND dn.stale = 0 AND i.status = 'warn' ORDER BY dn.device_id LIMIT 2
            """)
        try #require(two.count == 2)
        try db.exec("UPDATE device_nights SET last_sync = '2026-11-03T05:59:59.250Z' WHERE as_of = '2026-11-03' AND device_id = \(two[0][0]!)")
        try db.exec("UPDATE device_nights SET last_sync = NULL WHERE as_of = '2026-11-03' AND device_id = \(two[1][0]!)")
        var skipped = 0
        var kept = 0
        for day in 1...8 {
            let asOf = String(format: "2026-11-%02d", day)
            let night = try NightData.load(db, asOf: asOf)
            let views = try viaViews(db, asOf: asOf)
            for (owner, devices) in views {
                let acting = devices.contains { !$0.stale && !$0.failing.isEmpty }
                let read = night.devicesByOwner[owner]?.map(ViewDevice.init)
                if acting {
                    kept += 1
                    #expect(read == devices, "\(asOf) \(owner)")
                } else {
                    skipped += 1
                    #expect(read == nil, "\(asOf) \(owner) has nothing to act on")
                }
            }
            #expect(Set(night.devicesByOwner.keys).isSubset(of: Set(views.keys)))
            if day == 3 {
                let all = views.values.joined()
                #expect(all.contains { $0.lastSync == "2026-11-03T05:59:59.250Z" } && all.contains { $0.lastSync == nil })
            }
        }
        // Both kinds of owner occur, or the comparison above proved little.
        #expect(kept > 0 && skipped > 0, "kept \(kept), skipped \(skipped)")
    }

    @Test func onlyTheFailingDeviceIsNamedAndPassingPeopleGetNothing() async throws {
        let (_, store) = try await demoStore()
        let db = store.database
        let asOf = "2026-11-04"
        // Two people with at least two devices each, none stale (active, so they could be messaged).
        let owners = try db.rows(
            """
            SELECT lower(d.owner) FROM devices d JOIN people p ON p.as_of = d.as_of AND lower(p.email) = lower(d.owner)
            WHERE d.as_of = '\(asOf)' AND p.active = 1 GROUP BY lower(d.owner)
            HAVING count(*) >= 2 AND sum(d.stale) = 0 ORDER BY lower(d.owner) LIMIT 2
            """
        ).map { $0[0]! }
        try #require(owners.count == 2)
        let (mixed, passing) = (owners[0], owners[1])
        func ids(_ owner: String) throws -> [Int] {
            try db.rows(
                """
                SELECT d.device_id FROM devices d JOIN device_keys k ON k.device_id = d.device_id
                WHERE d.as_of = '\(asOf)' AND lower(d.owner) = '\(owner)' ORDER BY k.device_key
                """
            ).map { Int($0[0]!)! }
        }
        let mixedIDs = try ids(mixed)
        let passingIDs = try ids(passing)
        // Every result of both made to pass, then one practice of the mixed person's last device made to fail.
        for id in mixedIDs + passingIDs {
            try db.exec(
                """
                UPDATE practice_results SET status = 'ok'
                WHERE as_of = '\(asOf)' AND device_id = \(id) AND status <> 'ok' AND status <> 'na'
                """)
        }
        let failing = mixedIDs.last!
        let practice = try #require(
            try db.rows(
                """
                SELECT practice FROM practice_results WHERE as_of = '\(asOf)' AND device_id = \(failing) ORDER BY practice LIMIT 1
                """
            ).first?[0] ?? nil)
        try db.exec("UPDATE practice_results SET status = 'warn' WHERE as_of = '\(asOf)' AND device_id = \(failing) AND practice = '\(practice)'")
        try db.exec(
            """
            UPDATE device_nights SET green = (device_id <> \(failing))
            WHERE as_of = '\(asOf)' AND device_id IN (\((mixedIDs + passingIDs).map(String.init).joined(separator: ",")))
            """)
        let night = try NightData.load(db, asOf: asOf)
        #expect(night.devicesByOwner[passing] == nil)
        #expect(night.devicesByOwner[mixed]?.map(\.id) == mixedIDs)
        #expect(night.devicesByOwner[mixed]?.map { $0.failing.map(\.practice) } == mixedIDs.map { $0 == failing ? [practice] : [] })

        let plan = Planner(config: try notifyConfig()).plan(night, history: [:], holdoutHistory: [:])
        #expect(!plan.people.contains { $0.person == passing })
        #expect(!plan.holdouts.contains { $0.person == passing })
        let message = try #require(plan.people.first { $0.person == mixed })
        #expect(message.items == ["\(failing):\(practice)"])
        // The failing device first, needing action; the others listed as green.
        #expect(message.devices.map(\.id) == [failing] + mixedIDs.dropLast())
        #expect(message.devices.first?.failing.map(\.practice) == [practice])
        #expect(message.devices.dropFirst().allSatisfy { $0.green && $0.failing.isEmpty })
    }

    /// The hold-out hash is taken without building `email\nselection`: it must still be that string's hash, or people
    /// would move between the groups from one release to the next.
    @Test func holdOutHashIsTheHashOfEmailNewlineSelection() {
        for i in 0..<300 {
            let email = i % 3 == 0 ? "Ärger.\(i)@Example.COM" : "person\(i)@example.com"
            for selection in ["digest", "filevault-push", ""] {
                let h = Planner.stableHash(email.lowercased() + "\n" + selection)
                for share in [0.1, 0.5, 0.9] {
                    #expect(Planner.isHeldOut(email, selection: selection, share: share) == (Double(h >> 11) / Double(1 << 53) < share))
                }
            }
        }
    }
}

@Suite struct NotifyBase64Tests {
    /// The message bodies' base64 against Foundation's, line by line: every length around the padding and line
    /// boundaries (57 bytes a line), non-ASCII text included.
    @Test func bodiesAreFoundationsBase64In76CharacterLines() throws {
        let alphabet = Array("abc xyz é€😀<>&\"'0123456789")
        var generator = SystemRandomNumberGenerator()
        for n in Array(0...200) + [5_000, 5_001, 5_002] {
            let text = String((0..<n).map { _ in alphabet.randomElement(using: &generator)! })
            let message = String(
                decoding: MIME.render(
                    .init(
                        from: MailAddress(name: nil, address: "it@example.com"), to: [MailAddress(name: nil, address: "a@example.com")],
                        subject: "s", date: Date(timeIntervalSince1970: 0), messageID: "id@example.com", text: text, html: "")), as: UTF8.self)
            let marker = "Content-Transfer-Encoding: base64\r\n\r\n"
            let after = try #require(message.range(of: marker)).upperBound
            let part = String(message[after...].prefix { $0 != "-" }.dropLast(1))  // (less the "\r\n", one Character)
            let encoded = Data(text.utf8).base64EncodedString()
            let lines = stride(from: 0, to: encoded.count, by: 76).map {
                String(encoded.dropFirst($0).prefix(76))
            }
            #expect(part == lines.joined(separator: "\r\n"), "length \(n)")
        }
    }
}
