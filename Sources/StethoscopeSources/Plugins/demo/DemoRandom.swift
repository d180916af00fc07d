import Foundation

/// SplitMix64: a tiny, fast, seedable generator. Every entity derives its own stream from the world seed
/// (`DemoRandom.derive`), so any night is computed directly and draws never depend on generation order.
struct DemoRandom {
    private var state: UInt64

    init(_ seed: UInt64) { state = seed }

    /// A seed for one entity and purpose, mixed so nearby inputs give unrelated streams.
    static func derive(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var z: UInt64 = a &+ 0x9E37_79B9_7F4A_7C15 &* (b &+ 1)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z: UInt64 = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) }

    /// Uniform in 0..<n (n > 0).
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    /// Uniform in the closed range.
    mutating func int(in range: ClosedRange<Int>) -> Int { range.lowerBound + int(range.count) }

    mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// Exponentially distributed with the given mean (days until someone gets round to a fix).
    mutating func exponential(mean: Double) -> Double { -log(1 - unit()) * mean }

    /// An index into `weights` chosen with probability proportional to its weight.
    mutating func pick(_ weights: [Double]) -> Int {
        var total: Double = 0
        for w in weights { total += w }
        var u: Double = unit() * total
        for (i, w) in weights.enumerated() {
            if u < w { return i }
            u -= w
        }
        return weights.count - 1
    }
}

extension Array {
    /// Up to `n` distinct elements in random order (a partial Fisher–Yates).
    func shuffledPrefix(_ rng: inout DemoRandom, _ n: Int) -> [Element] {
        var a = self
        let k = Swift.min(n, a.count)
        for i in 0..<k { a.swapAt(i, i + rng.int(a.count - i)) }
        return Array(a.prefix(k))
    }
}
