import Foundation
import StethoscopeSources

/// One night of the demo company at 100,000 people: every feed's records (the world is built first, timed apart).
func benchDemo() async throws {
    let parameters = DemoParameters(seed: 1, people: 100_000, start: "2026-10-01", nights: 60)
    let built = Date()
    let world = DemoWorld.shared(parameters)
    let buildSeconds = Date().timeIntervalSince(built)
    let started = Date()
    var records = 0
    for feed in DemoFeed.allCases {
        records += world.records(feed, night: 30, source: feed.rawValue).count
    }
    let seconds = Date().timeIntervalSince(started)
    print(
        String(
            format: "demo.generate_100k_seconds=%.3f records=%d devices=%d world_build_seconds=%.3f",
            seconds, records, world.deviceCount, buildSeconds))
}
