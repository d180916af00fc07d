/// Pairwise precision and recall of a merge against known truth (record label → true device), computed
/// from cluster sizes in linear time: precision = true pairs merged / pairs merged, recall = true pairs
/// merged / true pairs. Used by the tests and `make bench` on the demo company, whose generator knows the truth.
public enum MergeQuality {
    public static func pairwise(groups: [MergedGroup], records: [SourceRecord], truth: [String: Int]) -> (precision: Double, recall: Double) {
        func pairs(_ n: Int) -> Double { Double(n) * Double(n - 1) / 2 }
        var merged = 0.0
        var both = 0.0
        var trueSizes: [Int: Int] = [:]
        for g in groups {
            merged += pairs(g.records.count)
            var inGroup: [Int: Int] = [:]
            for r in g.records {
                let t = truth[label(records[r])] ?? -1 - r  // unknown records are their own device
                inGroup[t, default: 0] += 1
                trueSizes[t, default: 0] += 1
            }
            for n in inGroup.values { both += pairs(n) }
        }
        let truePairs = trueSizes.values.reduce(0.0) { $0 + pairs($1) }
        return (merged == 0 ? 1 : both / merged, truePairs == 0 ? 1 : both / truePairs)
    }
}
