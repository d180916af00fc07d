import Foundation
import StethoscopeCore

/// Every value that reaches a page goes through it (text and attributes alike): the project's one HTML escaping
/// function, `HTML.escape`, under the short name the page code uses.
@inline(__always) func h(_ s: String) -> String { HTML.escape(s) }

/// A file name part made from any id: lower-case letters and digits, plus a short hash so distinct ids never
/// collide (and nothing in an id can reach a path or an attribute unescaped).
func slug(_ id: String) -> String {
    var base = ""
    var dash = false
    for c in id.lowercased().unicodeScalars {
        if (c >= "a" && c <= "z") || (c >= "0" && c <= "9") {
            base.unicodeScalars.append(c)
            dash = false
        } else if !dash && !base.isEmpty {
            base += "-"
            dash = true
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
/// A sortable cell value: numbers before text never meet (a column holds one kind).
enum SortKey: Comparable {
    case number(Double)
    case text(String)
}

enum Cell {
    case text(String)
    case link(String, href: String)
    case int(Int?)
    case percent(Double?)
    /// A compliance rate shown with its colour band (the number is always printed too).
    case band(Double?)
    /// A green-device rate shown with its own bands (they separate groups around 50%, not 90%).
    case greenBand(Double?)
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
        case .band(let v), .greenBand(let v):
            let b = isGreen ? Band.green(v) : Band.of(v)
            return "<td class=\"n \(b.css)\" title=\"\(b.name)\">\(pct(v))<span class=\"bn\"> \(b.mark)</span></td>"
        case .change(let v):
            let arrow = v.map { $0 > 0.0005 ? "▲ " : ($0 < -0.0005 ? "▼ " : "") } ?? ""
            return "<td class=\"n\">\(arrow)\(signedPoints(v))</td>"
        case .decimal(let v): return "<td class=\"n\">\(v.map { fixed($0, 1) } ?? "–")</td>"
        case .spark(let values, let label): return "<td>\(Charts.sparkline(values, label: label))</td>"
        case .trend(let v, let change, let values, let label):
            let b = Band.of(v)
            let arrow = change.map { $0 > 0.0005 ? "▲ " : ($0 < -0.0005 ? "▼ " : "") } ?? ""
            return
                "<td class=\"n \(b.css)\" title=\"\(b.name)\">\(pct(v))<span class=\"bn\"> \(b.mark)</span><br><small>\(arrow)\(signedPoints(change))</small><br>"
                + Charts.sparkline(values, label: label, width: 64, height: 16) + "</td>"
        }
    }

    /// What sorting by this cell's column compares; nil when the cell has no value.
    var sortKey: SortKey? {
        switch self {
        case .text(let s), .link(let s, _): return .text(s.lowercased())
        case .int(let v): return v.map { .number(Double($0)) }
        case .percent(let v), .band(let v), .greenBand(let v), .change(let v), .decimal(let v): return v.map(SortKey.number)
        case .trend(let v, _, _, _): return v.map(SortKey.number)
        case .spark: return nil
        }
    }

    /// Sparklines have no order.
    var isSortable: Bool {
        if case .spark = self { return false }
        return true
    }

    /// Counts sort most first; rates, changes and text lowest first (for rates: worst first).
    var sortsDescending: Bool {
        if case .int = self { return true }
        return false
    }

    /// The values for CSV and JSON: one per exported column.
    var exported: [String?] {
        if case .trend(let v, let change, let values, let label) = self {
            return [Cell.percent(v).plain, Cell.change(change).plain, Cell.spark(values, label: label).plain]
        }
        return [plain]
    }

    /// The exported column ids for a column with id `id`.
    func exportedColumns(_ id: String) -> [String] {
        if case .trend = self { return [id, "\(id)_vs_7_nights", "\(id)_trend"] }
        return [id]
    }

    /// The documented types of the exported columns (README, "Report"): `string`, `integer`, `ratio` (0–1),
    /// `ratio_change` (a difference of ratios), `number`, `trend` (JSON: an array of {as_of, value}).
    var exportedTypes: [String] {
        switch self {
        case .text, .link: return ["string"]
        case .int: return ["integer"]
        case .percent, .band, .greenBand: return ["ratio"]
        case .change: return ["ratio_change"]
        case .decimal: return ["number"]
        case .spark: return ["trend"]
        case .trend: return ["ratio", "ratio_change", "trend"]
        }
    }

    /// The trend values as JSON: the nights the sparkline draws, `[{"as_of": "…", "value": 0.5}, …]`.
    static func trendJSON(_ values: [Double?], nights: [String]) -> String {
        "["
            + Charts.sampleIndices(values.count).map { i in
                "{\"as_of\":" + jsonString(i < nights.count ? nights[i] : "") + ",\"value\":" + (values[i].map { fixed($0, 4) } ?? "null") + "}"
            }.joined(separator: ",") + "]"
    }

    /// The JSON values of this cell's exported columns.
    func json(nights: [String]) -> [String] {
        switch self {
        case .spark(let values, _): return [Cell.trendJSON(values, nights: nights)]
        case .trend(let v, let change, let values, _):
            return [v.map { fixed($0, 4) } ?? "null", change.map { fixed($0, 4) } ?? "null", Cell.trendJSON(values, nights: nights)]
        default:
            guard let v = plain else { return ["null"] }
            return [isNumber ? v : jsonString(v)]
        }
    }

    /// The value for CSV (nil: empty).
    var plain: String? {
        switch self {
        case .text(let s), .link(let s, _): return s
        case .int(let v): return v.map(String.init)
        case .percent(let v), .band(let v), .greenBand(let v), .change(let v), .decimal(let v): return v.map { fixed($0, 4) }
        case .spark(let values, _):
            // The nights the sparkline draws (at most 30), as on the page.
            return Charts.sampleIndices(values.count).map { values[$0].map { fixed($0, 3) } ?? "" }.joined(separator: " ")
        case .trend(let v, _, _, _): return v.map { fixed($0, 4) }
        }
    }

    var isGreen: Bool {
        if case .greenBand = self { return true }
        return false
    }

    var isTrend: Bool {
        if case .trend = self { return true }
        return false
    }

    var isNumber: Bool {
        switch self {
        case .int, .percent, .band, .greenBand, .change, .decimal, .trend: return true
        default: return false
        }
    }
}

/// Colour bands, chosen per measure: compliance separates around 90%, the green-device rate (a device is green only
/// when every practice is ok, so rates sit much lower) around 50%. Colours come from a sequential palette that
/// stays ordered in greyscale; each band also prints a mark (never ▲ or ▼, which mean change), and every
/// text/background pair has a WCAG contrast of at least 4.5:1 (tested).
struct Band {
    var css: String, name: String, mark: String

    /// Band classes in order, best first: background, text colour and mark.
    static let palette: [(css: String, background: String, text: String, mark: String)] = [
        ("b0", "#ffffd4", "#111111", ""), ("b1", "#fed98e", "#111111", "·"), ("b2", "#fe9929", "#111111", "◆"),
        ("b3", "#a8460a", "#ffffff", "◼"), ("b4", "#662506", "#ffffff", "■")
    ]
    static let complianceLimits: [(Double, String)] = [(0.95, "95% or more"), (0.90, "90 to 95%"), (0.80, "80 to 90%"), (0.60, "60 to 80%"), (0, "below 60%")]
    static let greenLimits: [(Double, String)] = [(0.80, "80% or more"), (0.60, "60 to 80%"), (0.40, "40 to 60%"), (0.20, "20 to 40%"), (0, "below 20%")]

    static func of(_ v: Double?) -> Band { band(v, complianceLimits) }
    static func green(_ v: Double?) -> Band { band(v, greenLimits) }

    private static func band(_ v: Double?, _ limits: [(Double, String)]) -> Band {
        guard let v else { return Band(css: "b-none", name: "no applicable devices", mark: "") }
        let i = limits.firstIndex { v >= $0.0 } ?? limits.count - 1
        return Band(css: palette[i].css, name: limits[i].1, mark: palette[i].mark)
    }

    /// The CSS for the bands.
    static let css: String =
        palette.map { ".\($0.css){background:\($0.background);color:\($0.text)}" }.joined()
        + ".b-none{background:#fff}.bn{font-size:.8em}"

    /// The legend every page carries: each band's swatch, mark and range, for both measures.
    static let legend: String = {
        func row(_ title: String, _ limits: [(Double, String)]) -> String {
            "<span>\(title):</span> "
                + limits.indices.map { i in
                    "<span class=\"\(palette[i].css) lg\">\(palette[i].mark.isEmpty ? "" : palette[i].mark + " ")\(limits[i].1)</span>"
                }.joined(separator: " ")
        }
        return "<p class=\"legend\">Bands (colour and mark; ▲ ▼ are changes) — " + row("Compliance", complianceLimits) + "<br>"
            + row("Green devices", greenLimits) + "</p>"
    }()
}

/// A table shown on a page and written next to it as CSV and JSON for analysts.
struct Table {
    var name: String
    var caption: String
    var columns: [String]
    var rows: [[Cell]]
    /// Rows shown on the page (the files always hold all of them).
    var shownLimit: Int = .max
    /// Stable snake_case column ids for CSV and JSON (nil: derived from the labels; practice columns pass the
    /// practice keys, so renaming a title never renames a column).
    var ids: [String]? = nil

    /// "Median nights to fix" → "median_nights_to_fix".
    static func snakeCase(_ label: String) -> String {
        var out = ""
        for c in label.lowercased().unicodeScalars {
            if (c >= "a" && c <= "z") || (c >= "0" && c <= "9") { out.unicodeScalars.append(c) } else if !out.isEmpty && !out.hasSuffix("_") { out += "_" }
        }
        while out.hasSuffix("_") { out.removeLast() }
        return out.isEmpty ? "column" : out
    }

    var columnIDs: [String] { ids ?? columns.map(Table.snakeCase) }

    /// Sorting without JavaScript (the report has no script): when `sortPage` is set, each sortable column's
    /// header links to a copy of the page sorted by it, `<sortPage>.by-<column id>.html`, and the column the
    /// page's own order follows (`defaultSort`) links back to `<sortPage>.html`. `sortedBy` marks the column these
    /// rows are in order of (`aria-sort`).
    var sortPage: String? = nil
    var defaultSort: Int? = nil
    var sortedBy: Int? = nil

    func isSortable(_ column: Int) -> Bool { rows.first.map { column < $0.count && $0[column].isSortable } ?? false }

    /// The file of the copy sorted by `column`.
    func sortedFile(_ column: Int) -> String? {
        guard let sortPage, isSortable(column) else { return nil }
        return column == defaultSort ? "\(sortPage).html" : "\(sortPage).by-\(columnIDs[column]).html"
    }

    /// The rows in order of `column`, worst first: rates and changes lowest first, counts most first, text
    /// alphabetically; cells without a value last; ties keep the table's order.
    func sorted(by column: Int) -> Table {
        var t = self
        t.sortedBy = column
        let descending = rows.first.map { column < $0.count && $0[column].sortsDescending } ?? false
        t.rows = rows.enumerated().sorted { a, b in
            switch (a.element[column].sortKey, b.element[column].sortKey) {
            case (.some(let x), .some(let y)) where x != y: return descending ? x > y : x < y
            case (.some, .none): return true
            case (.none, .some): return false
            default: return a.offset < b.offset
            }
        }.map(\.element)
        return t
    }

    func html(page: String) -> String {
        var out = "<table><caption>\(h(caption))"
        out += " <span class=\"files\">(<a href=\"\(page).\(name).csv\">CSV</a>, <a href=\"\(page).\(name).json\">JSON</a>)</span></caption><thead><tr>"
        for (i, c) in columns.enumerated() {
            let numeric = rows.first.map { i < $0.count && $0[i].isNumber } ?? false
            var attributes = numeric ? " class=\"n\"" : ""
            if sortedBy == i {
                let descending = rows.first.map { i < $0.count && $0[i].sortsDescending } ?? false
                attributes += descending ? " aria-sort=\"descending\"" : " aria-sort=\"ascending\""
            }
            let label = sortedBy != i ? sortedFile(i).map { "<a href=\"\(h($0))\">\(h(c))</a>" } ?? h(c) : h(c)
            out += "<th scope=\"col\"\(attributes)>\(label)</th>"
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

    /// Column ids as exported (a trend cell becomes three columns).
    var exportColumns: [String] {
        let ids = columnIDs
        guard let first = rows.first else { return ids }
        return ids.enumerated().flatMap { i, c in i < first.count ? first[i].exportedColumns(c) : [c] }
    }

    /// Labels and types of the exported columns, for JSON.
    var exportMeta: [(label: String, type: String)] {
        guard let first = rows.first else { return columns.map { ($0, "string") } }
        return columns.enumerated().flatMap { i, c -> [(label: String, type: String)] in
            guard i < first.count else { return [(c, "string")] }
            let types = first[i].exportedTypes
            let labels = types.count == 3 ? [c, "\(c) vs 7 nights", "\(c) trend"] : [c]
            return zip(labels, types).map { ($0, $1) }
        }
    }

    var csv: String {
        var out = exportColumns.map(csvField).joined(separator: ",") + "\n"
        for row in rows {
            out +=
                row.flatMap { cell in
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

    /// `{"caption", "columns": [{"id", "label", "type"}], "rows": [[…]]}`; trends are arrays of {as_of, value}.
    func json(nights: [String]) -> String {
        let ids = exportColumns
        let meta = exportMeta
        var out = "{\"caption\":\(jsonString(caption)),\"columns\":["
        out +=
            ids.indices.map { i in
                "{\"id\":\(jsonString(ids[i])),\"label\":\(jsonString(i < meta.count ? meta[i].label : ids[i])),\"type\":\"\(i < meta.count ? meta[i].type : "string")\"}"
            }.joined(separator: ",") + "],\"rows\":["
        for (i, row) in rows.enumerated() {
            if i > 0 { out += "," }
            out += "[" + row.flatMap { $0.json(nights: nights) }.joined(separator: ",") + "]"
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
        .legend{font-size:.85em}.legend .lg{padding:0 .4em;border:1px solid #bbb;white-space:nowrap}
        .kpis{display:flex;flex-wrap:wrap;gap:.8em;margin:.6em 0}.kpi{border:1px solid #bbb;padding:.4em .8em;min-width:10em}
        .kpi b{display:block;font-size:1.5em}.grid{display:flex;flex-wrap:wrap;gap:.8em}.grid figure{margin:0}
        figure{margin:.5em 0}figcaption{font-size:.85em;color:#333}.note{color:#444;font-size:.85em}
        .side{display:flex;flex-wrap:wrap;gap:1.5em}.side>section{flex:1 1 480px}
        svg text{font-family:inherit}details{margin:.3em 0 1em}summary{cursor:pointer;color:#0b4f8a}details.fold{margin-bottom:.3em}
        @media screen{details.fold:not([open])+*{display:none}}
        a{color:#0b4f8a}nav.crumbs{margin:.6em 0;font-size:.9em}.summary{font-size:1.05em;max-width:60em}
        .changes ul{margin:.2em 0;padding-left:1.4em}
        @media print{@page{size:landscape;margin:9mm}body{font-size:9pt}main{max-width:none;padding:0}
        header{background:none;color:#000}header a{color:#000}a{color:#000;text-decoration:none}
        summary{list-style:none;color:#000;font-weight:600}
        table{font-size:7pt;width:100%;table-layout:fixed}thead{display:table-header-group}th{white-space:normal}
        th,td{overflow-wrap:anywhere}thead th:first-child{width:9em}
        tr,figure,svg,.kpis,.kpi,caption{break-inside:avoid}h2{break-after:avoid}
        td svg{display:none}td small{display:inline}td br{display:none}.n{white-space:normal}
        div[style]{overflow:visible!important}.side{display:block}.files{display:none}}
        """

    /// A disclosure that folds away the element right after it on screen and leaves it in print: a closed
    /// `<details>` prints closed in every browser, and the pseudo-element that opens it in print
    /// (`::details-content`) is not yet valid CSS to the Nu checker. `details.fold:not([open])+*` hides the next
    /// sibling on screen only; the summary still says open/closed to a screen reader and needs no script.
    static func fold(_ summary: String) -> String { "<details class=\"fold\"><summary>\(h(summary))</summary></details>" }

    static func render(title: String, current: String, body: String, footer: String) -> String {
        var out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>\(h(title)) · Stethoscope</title>"
        out += "<style>\(css)\(Band.css)</style></head><body><header><nav aria-label=\"Report sections\">"
        for (file, label) in [
            ("index.html", "Overview"), ("organizations.html", "Organizations"), ("managers.html", "Managers"),
            ("practices.html", "Practices"), ("quality.html", "Data quality"),
            ("nudges.html", "Nudges")
        ] {
            out += file == current ? "<a href=\"\(file)\" aria-current=\"page\">\(label)</a>" : "<a href=\"\(file)\">\(label)</a>"
        }
        out +=
            "</nav></header><main><h1>\(h(title))</h1>\(body)</main><footer class=\"note\" style=\"padding:0 1em 1em\">\(Band.legend)\(footer)</footer></body></html>\n"
        return out
    }
}
