import Foundation

/// The one escaping function: every value that reaches a page goes through it (text and attributes alike).
func h(_ s: String) -> String {
    guard s.utf8.contains(where: { $0 == 38 || $0 == 60 || $0 == 62 || $0 == 34 || $0 == 39 }) else { return s }
    var out = ""
    out.reserveCapacity(s.utf8.count + 16)
    for c in s.unicodeScalars {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.unicodeScalars.append(c)
        }
    }
    return out
}

/// A file name part made from any id: lower-case letters and digits, plus a short hash so distinct ids never
/// collide (and nothing in an id can reach a path or an attribute unescaped).
func slug(_ id: String) -> String {
    var base = ""
    var dash = false
    for c in id.lowercased().unicodeScalars {
        if (c >= "a" && c <= "z") || (c >= "0" && c <= "9") {
            base.unicodeScalars.append(c); dash = false
        } else if !dash && !base.isEmpty {
            base += "-"; dash = true
        }
        if base.count >= 40 { break }
    }
    while base.hasSuffix("-") { base.removeLast() }
    var hash: UInt32 = 2_166_136_261
    for b in id.utf8 { hash = (hash ^ UInt32(b)) &* 16_777_619 }
    let hex = String(hash, radix: 16)
    return (base.isEmpty ? "x" : base) + "-" + String(repeating: "0", count: 8 - hex.count) + hex
}

/// `v` with `digits` decimals (half away from zero), without Foundation's formatter: a big report prints
/// millions of numbers, and `String(format:)` costs a microsecond each.
func fixed(_ v: Double, _ digits: Int) -> String {
    guard v.isFinite else { return "–" }
    let scale: Int = [1, 10, 100, 1000, 10_000][min(max(digits, 0), 4)]
    let n = Int((abs(v) * Double(scale)).rounded())
    var s = v < 0 && n != 0 ? "-" : ""
    s += String(n / scale)
    if scale > 1 {
        let frac = String(n % scale)
        s += "." + String(repeating: "0", count: digits - frac.count) + frac
    }
    return s
}

func pct(_ v: Double?, digits: Int = 1) -> String {
    guard let v else { return "–" }
    return fixed(v * 100, digits) + "%"
}

func signedPoints(_ v: Double?) -> String {
    guard let v else { return "–" }
    let text = fixed(v * 100, 1)
    return (text.hasPrefix("-") ? text : "+" + text) + " pts"
}

/// One table cell: what the page shows, and the plain value the CSV and JSON carry.
enum Cell {
    case text(String)
    case link(String, href: String)
    case int(Int?)
    case percent(Double?)
    /// A compliance rate shown with its colour band (the number is always printed too).
    case band(Double?)
    /// A change in percentage points.
    case change(Double?)
    case decimal(Double?)
    case spark([Double?], label: String)
    /// Compliance with its band, the change vs 7 nights ago and a sparkline, in one cell (exported as three columns).
    case trend(Double?, change: Double?, spark: [Double?], label: String)

    var html: String {
        switch self {
        case .text(let s): return "<td>\(h(s))</td>"
        case .link(let s, let href): return "<td><a href=\"\(h(href))\">\(h(s))</a></td>"
        case .int(let v): return "<td class=\"n\">\(v.map(String.init) ?? "–")</td>"
        case .percent(let v): return "<td class=\"n\">\(pct(v))</td>"
        case .band(let v):
            let b = Band.of(v)
            return "<td class=\"n \(b.css)\" title=\"\(b.name)\">\(pct(v))<span class=\"bn\"> \(b.mark)</span></td>"
        case .change(let v):
            let arrow = v.map { $0 > 0.0005 ? "▲ " : ($0 < -0.0005 ? "▼ " : "") } ?? ""
            return "<td class=\"n\">\(arrow)\(signedPoints(v))</td>"
        case .decimal(let v): return "<td class=\"n\">\(v.map { fixed($0, 1) } ?? "–")</td>"
        case .spark(let values, let label): return "<td>\(Charts.sparkline(values, label: label))</td>"
        case .trend(let v, let change, let values, let label):
            let b = Band.of(v)
            let arrow = change.map { $0 > 0.0005 ? "▲ " : ($0 < -0.0005 ? "▼ " : "") } ?? ""
            return "<td class=\"n \(b.css)\" title=\"\(b.name)\">\(pct(v))<span class=\"bn\"> \(b.mark)</span><br><small>\(arrow)\(signedPoints(change))</small><br>"
                + Charts.sparkline(values, label: label, width: 64, height: 16) + "</td>"
        }
    }

    /// The values for CSV and JSON: one per exported column.
    var exported: [String?] {
        if case .trend(let v, let change, let values, let label) = self {
            return [Cell.percent(v).plain, Cell.change(change).plain, Cell.spark(values, label: label).plain]
        }
        return [plain]
    }

    /// The exported column names for a column headed `name`.
    func exportedColumns(_ name: String) -> [String] {
        if case .trend = self { return [name, "\(name) vs 7 nights", "\(name) trend"] }
        return [name]
    }

    /// The value for CSV (nil: empty).
    var plain: String? {
        switch self {
        case .text(let s), .link(let s, _): return s
        case .int(let v): return v.map(String.init)
        case .percent(let v), .band(let v), .change(let v), .decimal(let v): return v.map { fixed($0, 4) }
        case .spark(let values, _):
            // The nights the sparkline draws (at most 30), as on the page.
            return Charts.sampleIndices(values.count).map { values[$0].map { fixed($0, 3) } ?? "" }.joined(separator: " ")
        case .trend(let v, _, _, _): return v.map { fixed($0, 4) }
        }
    }

    var isTrend: Bool {
        if case .trend = self { return true }
        return false
    }

    var isNumber: Bool {
        switch self {
        case .int, .percent, .band, .change, .decimal, .trend: return true
        default: return false
        }
    }
}

/// Compliance bands: colour from a sequential palette that stays ordered in greyscale, plus a printed mark.
struct Band {
    var css: String, name: String, mark: String
    static func of(_ v: Double?) -> Band {
        guard let v else { return Band(css: "b-none", name: "no applicable devices", mark: "") }
        if v >= 0.95 { return Band(css: "b0", name: "95% or more", mark: "") }
        if v >= 0.90 { return Band(css: "b1", name: "90 to 95%", mark: "·") }
        if v >= 0.80 { return Band(css: "b2", name: "80 to 90%", mark: "▪") }
        if v >= 0.60 { return Band(css: "b3", name: "60 to 80%", mark: "▲") }
        return Band(css: "b4", name: "below 60%", mark: "■")
    }
}

/// A table shown on a page and written next to it as CSV and JSON for analysts.
struct Table {
    var name: String
    var caption: String
    var columns: [String]
    var rows: [[Cell]]
    /// Rows shown on the page (the files always hold all of them).
    var shownLimit: Int = .max

    func html(page: String) -> String {
        var out = "<table><caption>\(h(caption))"
        out += " <span class=\"files\">(<a href=\"\(page).\(name).csv\">CSV</a>, <a href=\"\(page).\(name).json\">JSON</a>)</span></caption><thead><tr>"
        for (i, c) in columns.enumerated() {
            let numeric = rows.first.map { i < $0.count && $0[i].isNumber } ?? false
            out += numeric ? "<th scope=\"col\" class=\"n\">\(h(c))</th>" : "<th scope=\"col\">\(h(c))</th>"
        }
        out += "</tr></thead><tbody>"
        for row in rows.prefix(shownLimit) {
            out += "<tr>"
            for cell in row { out += cell.html }
            out += "</tr>"
        }
        if rows.isEmpty { out += "<tr><td colspan=\"\(max(columns.count, 1))\">No rows.</td></tr>" }
        out += "</tbody></table>"
        if rows.count > shownLimit {
            out += "<p class=\"note\">Showing \(shownLimit) of \(rows.count) rows; the CSV and JSON hold all of them.</p>"
        }
        return out
    }

    /// Column names as exported (a trend cell becomes three columns).
    var exportColumns: [String] {
        guard let first = rows.first else { return columns }
        return columns.enumerated().flatMap { i, c in i < first.count ? first[i].exportedColumns(c) : [c] }
    }

    var csv: String {
        var out = exportColumns.map(csvField).joined(separator: ",") + "\n"
        for row in rows {
            out += row.flatMap { cell in
                cell.exported.map { v -> String in
                    guard let v else { return "" }
                    return cell.isNumber ? v : csvField(v)
                }
            }.joined(separator: ",") + "\n"
        }
        return out
    }

    /// Text fields quoted; a leading = + - @ is prefixed with ' so spreadsheets do not run it as a formula.
    private func csvField(_ s: String) -> String {
        var v = s
        if let f = v.first, "=+-@\t\r".contains(f) { v = "'" + v }
        if v.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return v
    }

    var json: String {
        var out = "{\"caption\":\(jsonString(caption)),\"columns\":[" + exportColumns.map(jsonString).joined(separator: ",") + "],\"rows\":["
        for (i, row) in rows.enumerated() {
            if i > 0 { out += "," }
            out += "[" + row.flatMap { cell in
                cell.exported.enumerated().map { k, v -> String in
                    guard let v else { return "null" }
                    // A trend's third field (the sparkline values) is text.
                    if cell.isNumber && !(k == 2 && cell.isTrend) { return v }
                    return jsonString(v)
                }
            }.joined(separator: ",") + "]"
        }
        return out + "]}\n"
    }
}

func jsonString(_ s: String) -> String {
    var out = "\""
    for c in s.unicodeScalars {
        switch c {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "<": out += "\\u003c"
        default:
            if c.value < 0x20 { out += String(format: "\\u%04x", c.value) } else { out.unicodeScalars.append(c) }
        }
    }
    return out + "\""
}

/// The page frame: inline CSS, navigation, footer. No script, no external resource.
enum Page {
    static let css = """
        body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111;margin:0;background:#fff}
        header{background:#1d2733;color:#fff;padding:.5em 1em}header a{color:#fff;margin-right:1.2em;text-decoration:none;font-weight:600}
        header a[aria-current]{text-decoration:underline}main{padding:0 1em 2em;max-width:1200px}
        h1{font-size:1.5em;margin:.8em 0 .2em}h2{font-size:1.2em;margin:1.4em 0 .4em;border-bottom:1px solid #ccc}
        table{border-collapse:collapse;margin:.5em 0 1em;font-size:.9em}caption{text-align:left;font-weight:600;padding:.3em 0}
        th,td{border:1px solid #bbb;padding:.2em .45em;vertical-align:middle}th{background:#eef1f4;text-align:left}
        .n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}.files{font-weight:400;font-size:.85em}
        .b0{background:#ffffd4}.b1{background:#fed98e}.b2{background:#fe9929}.b3{background:#d95f0e;color:#fff}
        .b4{background:#993404;color:#fff}.b-none{background:#fff}.bn{font-size:.8em}
        .kpis{display:flex;flex-wrap:wrap;gap:.8em;margin:.6em 0}.kpi{border:1px solid #bbb;padding:.4em .8em;min-width:10em}
        .kpi b{display:block;font-size:1.5em}.grid{display:flex;flex-wrap:wrap;gap:.8em}.grid figure{margin:0}
        figure{margin:.5em 0}figcaption{font-size:.85em;color:#333}.note{color:#444;font-size:.85em}
        .side{display:flex;flex-wrap:wrap;gap:1.5em}.side>section{flex:1 1 480px}
        svg text{font-family:inherit}details{margin:.3em 0 1em}summary{cursor:pointer;color:#0b4f8a}
        a{color:#0b4f8a}nav.crumbs{margin:.6em 0;font-size:.9em}
        @media print{header{background:none;color:#000}header a{color:#000}details>*{display:block}a{color:#000}}
        """

    static func render(title: String, current: String, body: String, footer: String) -> String {
        var out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>\(h(title)) · Stethoscope</title>"
        out += "<style>\(css)</style></head><body><header><nav aria-label=\"Report sections\">"
        for (file, label) in [("index.html", "Overview"), ("organizations.html", "Organizations"), ("managers.html", "Managers"),
                              ("practices.html", "Practices"), ("quality.html", "Data quality"),
                              ("nudges.html", "Nudges")] {
            out += file == current ? "<a href=\"\(file)\" aria-current=\"page\">\(label)</a>" : "<a href=\"\(file)\">\(label)</a>"
        }
        out += "</nav></header><main><h1>\(h(title))</h1>\(body)</main><footer class=\"note\" style=\"padding:0 1em 1em\">\(footer)</footer></body></html>\n"
        return out
    }
}
