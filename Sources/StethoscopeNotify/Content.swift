import Foundation
import StethoscopeCore

/// The text and HTML of each message. The HTML is a whole document with inline styles only: no remote image,
/// no script, no tracking; every value from the database or config is escaped.
public enum Content {
    /// The project's one HTML escaping function (`HTML.escape`: entities, control characters blanked).
    public static func escape(_ s: String) -> String { HTML.escape(s) }

    /// A link only for http(s) URLs; anything else (a `javascript:` link from config) is shown as text.
    static func link(_ url: String?, _ label: String) -> String {
        guard let url, url.hasPrefix("https://") || url.hasPrefix("http://") else { return escape(label) }
        return "<a href=\"\(escape(url))\" style=\"color:#1a56db\">\(escape(label))</a>"
    }

    static func page(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title))</title>
        </head>
        <body style="margin:0;padding:0;background:#f4f5f7;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1f2328">
        <main>
        <div style="max-width:680px;margin:0 auto;padding:24px;background:#ffffff">
        \(body)
        </div>
        </main>
        </body>
        </html>

        """
    }

    static func day(_ iso: String?) -> String { iso.map { String($0.prefix(10)) } ?? "never" }

    static let statusColor: [Status: String] = [.warn: "#b42318", .nudge: "#b54708", .unknown: "#475467"]

    public static func person(_ m: PersonMessage, config: NotifyConfig) -> (text: String, html: String) {
        let first = m.name.split(separator: " ").first.map(String.init) ?? m.name
        let needs = m.devices.filter { d in d.failing.contains { m.items.contains("\(d.id):\($0.practice)") } }
        var t = "Hello \(first),\n\n"
        var h = "<p style=\"margin:0 0 12px\">Hello \(escape(first)),</p>\n"
        for intro in m.intros {
            t += intro + "\n\n"
            h += "<p style=\"margin:0 0 12px\">\(escape(intro))</p>\n"
        }
        let lead = m.reminder > 0 ? "A reminder: " : ""
        var count = needs.count == 1 ? "one of your devices needs" : "\(needs.count) of your devices need"
        if lead.isEmpty { count = count.prefix(1).uppercased() + count.dropFirst() }
        t += "\(lead)\(count) a few minutes of your attention to turn green. Here is exactly what to do.\n"
        h += "<p style=\"margin:0 0 16px\">\(escape(lead + count)) a few minutes of your attention to turn green. Here is exactly what to do.</p>\n"
        for d in m.devices where !d.green {
            let facts = [d.model, d.platform, d.os].compactMap { $0 }.joined(separator: ", ")
            t += "\n== \(d.name) (\(facts))\n   Last seen \(day(d.lastSeen)) by \(d.sources)\n"
            h += "<h2 style=\"font-size:17px;margin:20px 0 4px\">\(escape(d.name))</h2>\n"
            h +=
                "<p style=\"margin:0 0 8px;color:#475467;font-size:13px\">\(escape(facts)) · last seen \(escape(day(d.lastSeen))) by \(escape(d.sources))</p>\n"
            if d.stale {
                let stale = "This device has not checked in since \(day(d.lastSeen)); if you no longer use it, tell IT."
                t += "   \(stale)\n"
                h += "<p style=\"margin:0 0 8px;padding:8px;background:#fffaeb\">\(escape(stale))</p>\n"
            }
            for f in d.failing {
                let nights = f.nightsFailing == 1 ? "since last night" : "for \(f.nightsFailing) nights"
                t += "\n   * \(f.title): \(f.status.rawValue) (\(f.rating.rawValue), \(nights))\n"
                h += "<h3 style=\"font-size:15px;margin:12px 0 4px\">\(escape(f.title)) "
                h +=
                    "<span style=\"font-size:12px;font-weight:normal;color:#ffffff;background:\(statusColor[f.status] ?? "#475467");padding:1px 6px;border-radius:3px\">\(escape(f.status.rawValue))</span></h3>\n"
                h += "<p style=\"margin:0 0 4px;font-size:13px;color:#475467\">\(escape(f.rating.rawValue)) · \(escape(nights))</p>\n"
                let steps = f.steps.isEmpty ? [f.description] : f.steps
                h += "<ol style=\"margin:4px 0 8px;padding-left:22px\">\n"
                for (i, s) in steps.enumerated() where !s.isEmpty {
                    t += "     \(i + 1). \(s)\n"
                    h += "<li>\(escape(s))</li>\n"
                }
                h += "</ol>\n"
                if let link = f.link {
                    t += "     More: \(link)\n"
                    h += "<p style=\"margin:0 0 8px;font-size:13px\">\(Content.link(link, "How to do it, step by step"))</p>\n"
                }
            }
        }
        let green = m.devices.filter(\.green)
        if !green.isEmpty {
            let names = green.map(\.name).joined(separator: ", ")
            t += "\nAlready green, thank you: \(names).\n"
            h += "<p style=\"margin:20px 0 8px;color:#067647\">Already green, thank you: \(escape(names)).</p>\n"
        }
        let footer = footer(config)
        t += "\n-- \n\(footer)\n"
        h += "<hr style=\"border:0;border-top:1px solid #d0d5dd;margin:24px 0 8px\">\n<p style=\"font-size:12px;color:#667085\">\(escape(footer))"
        if let help = config.helpURL { h += " " + link(help, "About these messages") }
        h += "</p>\n"
        if let help = config.helpURL { t += "About these messages: \(help)\n" }
        return (t, page(title: m.subject, body: h))
    }

    static func footer(_ config: NotifyConfig) -> String {
        "\(config.senderName). Sent by Stethoscope from last night's device inventory; reply to this message if something here is wrong."
    }

    static func percent(_ r: Double?) -> String { r.map { String(format: "%.1f%%", $0 * 100) } ?? "n/a" }

    public static func manager(_ m: ManagerMessage, asOf: String, config: NotifyConfig) -> (text: String, html: String) {
        let first = m.name.split(separator: " ").first.map(String.init) ?? m.name
        var trend = ""
        if let now = m.greenRate, let before = m.previousRate, let since = m.previousAsOf {
            trend = " (" + String(format: "%+.1f", (now - before) * 100) + " points since \(since))"
        }
        let summary = "Your organization's devices on \(asOf): \(m.devices) devices, \(percent(m.greenRate)) green\(trend)."
        var t = "Hello \(first),\n\n\(summary)\n"
        var h = "<p style=\"margin:0 0 12px\">Hello \(escape(first)),</p>\n<p style=\"margin:0 0 16px\">\(escape(summary))</p>\n"
        if !m.topPractices.isEmpty {
            t += "\nPractices with the most failing devices:\n"
            h += "<h2 style=\"font-size:17px;margin:16px 0 6px\">Practices with the most failing devices</h2>\n<table style=\"border-collapse:collapse\">\n"
            for p in m.topPractices {
                t += "  \(p.title): \(p.failing)\n"
                h += "<tr><td style=\"padding:2px 12px 2px 0\">\(escape(p.title))</td><td style=\"text-align:right\">\(p.failing)</td></tr>\n"
            }
            h += "</table>\n"
        }
        let people = "\(m.peopleFailing) \(m.peopleFailing == 1 ? "person has" : "people have") at least one device failing a practice."
        t += "\n\(people)\n"
        h += "<p style=\"margin:16px 0 8px\">\(escape(people))</p>\n"
        if !m.longest.isEmpty {
            t += "Failing longest:\n"
            h += "<h2 style=\"font-size:17px;margin:16px 0 6px\">Failing longest</h2>\n<ul style=\"padding-left:20px\">\n"
            for p in m.longest {
                let line = "\(p.name): \(p.devices) device\(p.devices == 1 ? "" : "s"), \(p.nights) nights"
                t += "  \(line)\n"
                h += "<li>\(escape(line))</li>\n"
            }
            h += "</ul>\n"
        }
        let ask = "Each of them gets their own message with the steps to fix their devices; a word from you helps."
        t += "\n\(ask)\n\n-- \n\(footer(config))\n"
        h += "<p style=\"margin:16px 0 8px\">\(escape(ask))</p>\n"
        h += "<hr style=\"border:0;border-top:1px solid #d0d5dd;margin:24px 0 8px\">\n<p style=\"font-size:12px;color:#667085\">\(escape(footer(config)))</p>\n"
        return (t, page(title: "Weekly device security digest", body: h))
    }
}
