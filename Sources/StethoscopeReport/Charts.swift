import Foundation

/// Inline SVG charts. Accessible: `role="img"` with `<title>` and `<desc>`; series differ by colour
/// (Okabe–Ito, colour-blind safe), dash pattern and a printed label, so they read in greyscale too.
/// Partial nights are hatched bands, practice-definition changes dotted lines, device-count moves solid triangles
/// under the axis; each has a title saying what happened.
enum Charts {
    static let colours = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
    static let dashes = ["", "7 3", "2 2", "9 3 2 3", "4 4", "1 3", "12 2"]

    struct Series {
        var name: String
        var values: [Double?]
        /// How the data table prints it (nil: as the table's default).
        var percent: Bool? = nil
    }

    /// Marks shared by every trend chart of a report: which nights were partial, which changed practice rules.
    struct Marks {
        var nights: [String]
        var partial: [Bool]
        var changed: [Bool]
        /// Nights whose device count moved by more than the report's threshold.
        var moved: [Bool] = []
        /// Per night: what the chart's notes and mark titles say (partial, what rules changed, the device move).
        var notes: [[String]] = []

        func note(_ i: Int) -> String { i < notes.count ? notes[i].joined(separator: "; ") : "" }
    }

    /// A line chart over the report's nights. `percent`: values are 0...1 and the axis runs 0–100%.
    /// `id` must be unique within the page (it names the title, description and hatch pattern).
    static func line(
        id: String, title: String, description: String, series: [Series], marks: Marks, percent: Bool,
        width: Int = 640, height: Int = 220, floor: Double? = nil
    ) -> String {
        let left = 48.0
        let right = 110.0
        let top = 16.0
        let bottom = 30.0
        let w = Double(width) - left - right
        let hgt = Double(height) - top - bottom
        let n = marks.nights.count
        var maxV = percent ? 1.0 : 0.0
        var minV = 0.0
        if percent {
            minV = floor ?? percentFloor(series.flatMap { $0.values.compactMap { $0 } })
        } else {
            maxV = max(1, series.flatMap { $0.values.compactMap { $0 } }.max() ?? 1)
            maxV = niceCeil(maxV)
        }
        func x(_ i: Int) -> Double { n <= 1 ? left + w / 2 : left + w * Double(i) / Double(n - 1) }
        func y(_ v: Double) -> Double { top + hgt - (v - minV) / (maxV - minV) * hgt }
        var s =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-labelledby=\"\(id)t \(id)d\" viewBox=\"0 0 \(width) \(height)\" width=\"\(width)\" height=\"\(height)\">"
        s += "<title id=\"\(id)t\">\(h(title))</title><desc id=\"\(id)d\">\(h(description))</desc>"
        s +=
            "<defs><pattern id=\"\(id)h\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#f2f2f2\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#999\" stroke-width=\"2\"/></pattern></defs>"
        // Grid and axis labels.
        // Ticks every 10 points when zoomed in, else quarters.
        var intervals: Int = percent && minV > 0 ? Int(((maxV - minV) * 10).rounded()) : 4
        if !percent {
            // Whole-number ticks: 1–5 one apart, else fifths (or quarters of a 2×10ⁿ axis).
            let lead: Double = maxV / pow(10, log10(maxV).rounded(.down))
            intervals = maxV <= 5 ? Int(maxV) : (lead == 2 ? 4 : 5)
        }
        for k in 0...intervals {
            let v = minV + (maxV - minV) * Double(k) / Double(intervals)
            let yy = fmt(y(v))
            s += "<line x1=\"\(fmt(left))\" x2=\"\(fmt(left + w))\" y1=\"\(yy)\" y2=\"\(yy)\" stroke=\"#ddd\"/>"
            let label = percent ? fixed(v * 100, 0) + "%" : String(Int(v.rounded()))
            s += "<text x=\"\(fmt(left - 4))\" y=\"\(yy)\" font-size=\"11\" text-anchor=\"end\" dominant-baseline=\"middle\">\(label)</text>"
        }
        let labels = max(2, width / 110)
        let step = max(1, (n + labels - 2) / (labels - 1))
        for i in stride(from: 0, to: n, by: step) {
            s +=
                "<text x=\"\(fmt(x(i)))\" y=\"\(fmt(top + hgt + 16))\" font-size=\"10\" text-anchor=\"middle\">\(h(String(marks.nights[i].dropFirst(5))))</text>"
        }
        // Marks.
        let band = n <= 1 ? w / 4 : w / Double(n - 1)
        var partialLabelled = false
        var changeLabelled = false
        for i in 0..<n where i < marks.partial.count && marks.partial[i] {
            s +=
                "<rect x=\"\(fmt(x(i) - band / 2))\" y=\"\(fmt(top))\" width=\"\(fmt(band))\" height=\"\(fmt(hgt))\" fill=\"url(#\(id)h)\" opacity=\"0.8\"><title>\(h(marks.nights[i])): partial night (a source failed; its devices were carried forward)</title></rect>"
            if !partialLabelled {
                s += "<text x=\"\(fmt(x(i)))\" y=\"\(fmt(top - 4))\" font-size=\"10\" text-anchor=\"middle\">partial</text>"
                partialLabelled = true
            }
        }
        for i in 0..<n where i < marks.changed.count && marks.changed[i] {
            s +=
                "<line x1=\"\(fmt(x(i)))\" x2=\"\(fmt(x(i)))\" y1=\"\(fmt(top))\" y2=\"\(fmt(top + hgt))\" stroke=\"#000\" stroke-dasharray=\"1 3\"><title>\(h(marks.nights[i])): \(h(marks.note(i).isEmpty ? "practice definitions changed" : marks.note(i)))</title></line>"
            if !changeLabelled {
                s += "<text x=\"\(fmt(x(i) + 3))\" y=\"\(fmt(top + 10))\" font-size=\"10\">rules changed</text>"
                changeLabelled = true
            }
        }
        // Device-count moves: a solid triangle under the axis (distinct from the dotted rule-change line).
        for i in 0..<n where i < marks.moved.count && marks.moved[i] {
            let bx = x(i)
            let by = top + hgt
            s +=
                "<path d=\"M\(fmt(bx)) \(fmt(by - 7))L\(fmt(bx - 4)) \(fmt(by))L\(fmt(bx + 4)) \(fmt(by))Z\" fill=\"#000\"><title>\(h(marks.nights[i])): \(h(marks.note(i)))</title></path>"
        }
        // Series; end labels are collected and spread apart so close lines stay readable.
        var ends: [(y: Double, x: Double, text: String, colour: String)] = []
        for (k, series) in series.enumerated() {
            let colour = colours[k % colours.count]
            let dash = dashes[k % dashes.count]
            var d = ""
            var pen = false
            var last: (Double, Double)?
            for (i, v) in series.values.enumerated() {
                guard let v else {
                    pen = false
                    continue
                }
                let px = x(i)
                let py = y(v)
                d += (pen ? "L" : "M") + fmt(px) + " " + fmt(py)
                pen = true
                last = (px, py)
            }
            guard let last else { continue }
            if series.values.compactMap({ $0 }).count == 1 {
                s += "<circle cx=\"\(fmt(last.0))\" cy=\"\(fmt(last.1))\" r=\"3\" fill=\"\(colour)\"/>"
            }
            s += "<path d=\"\(d)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"")/>"
            ends.append((last.1, last.0 + 5, String(series.name.prefix(16)), colour))
        }
        ends.sort { $0.y < $1.y }
        for i in ends.indices.dropFirst() where ends[i].y - ends[i - 1].y < 12 { ends[i].y = ends[i - 1].y + 12 }
        for l in ends {
            s += "<text x=\"\(fmt(l.x))\" y=\"\(fmt(l.y))\" font-size=\"11\" fill=\"\(l.colour)\" dominant-baseline=\"middle\">\(h(l.text))</text>"
        }
        s += "</svg>"
        return s
    }

    /// The bottom of a percent axis: zoomed in when every value is high, so a 2-point change is visible (the axis
    /// labels say so). Small multiples of one kind pass the floor of all their values, so they share one range.
    static func percentFloor(_ values: [Double]) -> Double {
        guard let lo = values.min(), lo > 0.55 else { return 0 }
        return max(0.5, (lo * 10).rounded(.down) / 10 - 0.1)
    }

    /// The chart's numbers as a table, folded away on screen (`Page.fold`, so it prints: a closed `<details>` does
    /// not). `sampled`: only the nights a sparkline would draw (for the many-series charts of manager pages, which
    /// would otherwise dominate the report's size).
    static func dataTable(_ series: [Series], marks: Marks, percent: Bool, sampled: Bool = false) -> String {
        let rows: [Int] = sampled ? sampleIndices(marks.nights.count) : Array(marks.nights.indices)
        let note = rows.count < marks.nights.count ? " (every \((marks.nights.count + 29) / 30) nights)" : ""
        var s = Page.fold("Chart data\(note)") + "<table><thead><tr><th scope=\"col\">Night</th>"
        for ser in series { s += "<th scope=\"col\" class=\"n\">\(h(ser.name))</th>" }
        s += "<th scope=\"col\">Notes</th></tr></thead><tbody>"
        for i in rows {
            let night = marks.nights[i]
            s += "<tr><td>\(h(night))</td>"
            for ser in series {
                let v = i < ser.values.count ? ser.values[i] : nil
                s += "<td class=\"n\">\(ser.percent ?? percent ? pct(v) : (v.map { String(Int($0.rounded())) } ?? "–"))</td>"
            }
            s += "<td>\(h(marks.note(i)))</td></tr>"
        }
        return s + "</tbody></table>"
    }

    /// The nights a sparkline draws: at most 30, evenly spaced back from the last, so it stays small.
    static func sampleIndices(_ n: Int) -> [Int] {
        guard n > 30 else { return Array(0..<n) }
        let step = (n + 29) / 30
        return Array(stride(from: n - 1, through: 0, by: -step).reversed())
    }

    /// A small trend line (over sampled nights, joined across missing ones) with first and last values in its title.
    static func sparkline(_ all: [Double?], label: String, width: Int = 90, height: Int = 22) -> String {
        let values: [Double?] = sampleIndices(all.count).map { all[$0] }
        let present = values.compactMap { $0 }
        guard present.count >= 1 else { return "<span class=\"note\">no data</span>" }
        let lo = present.min()!
        let hi = present.max()!
        let span = max(hi - lo, 0.02)
        let n = values.count
        var d = ""
        var pen = false
        for (i, v) in values.enumerated() {
            guard let v else { continue }
            let px = n <= 1 ? Double(width) / 2 : 2 + Double(width - 4) * Double(i) / Double(n - 1)
            let py = 2 + Double(height - 4) * (1 - (v - lo) / span)
            d += (pen ? "L" : "M") + fmt(px) + " " + fmt(py)
            pen = true
        }
        let summary = "\(label): \(pct(present.first)) to \(pct(present.last)) over \(all.count) nights"
        var s =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" viewBox=\"0 0 \(width) \(height)\" width=\"\(width)\" height=\"\(height)\"><title>\(h(summary))</title>"
        // currentColor: the line takes the cell's text colour, so it stays visible on every band.
        if present.count == 1 { s += "<circle cx=\"\(width / 2)\" cy=\"\(height / 2)\" r=\"2\" fill=\"currentColor\"/>" }
        s += "<path d=\"\(d)\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"1.5\"/></svg>"
        return s
    }

    static func niceCeil(_ v: Double) -> Double {
        let p = pow(10, (log10(v)).rounded(.down))
        for m in [1.0, 2, 2.5, 5, 10] where m * p >= v { return m * p }
        return 10 * p
    }

    /// A coordinate with one decimal at most.
    static func fmt(_ v: Double) -> String {
        let tenths = Int((v * 10).rounded())
        return tenths % 10 == 0 ? String(tenths / 10) : fixed(Double(tenths) / 10, 1)
    }
}
