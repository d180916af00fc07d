import Foundation
import StethoscopeCore

/// RFC 5322 / MIME messages: multipart/alternative (plain text and HTML), UTF-8 bodies in base64 (so no line
/// is longer than 76 octets whatever the text), RFC 2047 encoded words for non-ASCII names and subjects.
public enum MIME {
    public struct Message: Sendable {
        public var from: MailAddress
        public var replyTo: MailAddress?
        public var to: [MailAddress]
        public var cc: [MailAddress] = []
        public var subject: String
        public var date: Date
        /// Without the angle brackets.
        public var messageID: String
        /// `Name <id>` of the list (campaign), RFC 2919.
        public var listID: (name: String, id: String)?
        public var text: String
        public var html: String

        public init(
            from: MailAddress, replyTo: MailAddress? = nil, to: [MailAddress], cc: [MailAddress] = [], subject: String,
            date: Date, messageID: String, listID: (name: String, id: String)? = nil, text: String, html: String
        ) {
            self.from = from
            self.replyTo = replyTo
            self.to = to
            self.cc = cc
            self.subject = subject
            self.date = date
            self.messageID = messageID
            self.listID = listID
            self.text = text
            self.html = html
        }
    }

    /// The whole message, CRLF line ends.
    public static func render(_ m: Message) -> [UInt8] {
        let boundary = "=_stethoscope_" + String(Planner.stableHash(m.messageID), radix: 16)
        var lines: [String] = []
        lines.append(header("From", address(m.from)))
        if let r = m.replyTo { lines.append(header("Reply-To", address(r))) }
        lines.append(header("To", m.to.map(address).joined(separator: ", ")))
        if !m.cc.isEmpty { lines.append(header("Cc", m.cc.map(address).joined(separator: ", "))) }
        lines.append(header("Subject", words(m.subject)))
        lines.append("Date: " + rfc5322Date(m.date))
        lines.append("Message-ID: <\(m.messageID)>")
        if let l = m.listID { lines.append(header("List-Id", phrase(l.name) + " <\(l.id)>")) }
        lines.append("Auto-Submitted: auto-generated")
        lines.append("MIME-Version: 1.0")
        lines.append("Content-Type: multipart/alternative; boundary=\"\(boundary)\"")
        lines.append("")
        lines.append("This is a MIME message: a plain-text and an HTML version of the same text.")
        // Bytes from here on: the bodies are most of a message, and Foundation's string replacing is slow on Linux.
        var out = Array(lines.joined(separator: "\r\n").utf8)
        out.reserveCapacity(out.count + (m.text.utf8.count + m.html.utf8.count) * 142 / 100 + 400)
        for (type, body) in [("text/plain", m.text), ("text/html", m.html)] {
            out += Array("\r\n--\(boundary)\r\nContent-Type: \(type); charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n".utf8)
            appendBase64Lines(normalizeNewlines(Array(body.utf8)), to: &out)
        }
        out += Array("\r\n--\(boundary)--\r\n".utf8)
        return out
    }

    /// Body text with CRLF line ends (the canonical form of text/* parts): CRLF stays, a lone CR or LF becomes CRLF.
    static func normalizeNewlines(_ text: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.count + text.count / 16)
        var i = 0
        while i < text.count {
            let b = text[i]
            if b == 13 || b == 10 {
                out.append(13)
                out.append(10)
                if b == 13 && i + 1 < text.count && text[i + 1] == 10 { i += 1 }
            } else {
                out.append(b)
            }
            i += 1
        }
        return out
    }

    /// Base64 in lines of 76 characters, CRLF between them (none after the last).
    static func appendBase64Lines(_ bytes: [UInt8], to out: inout [UInt8]) {
        let encoded = Data(bytes).base64EncodedData()
        encoded.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var i = 0
            while i < raw.count {
                if i > 0 {
                    out.append(13)
                    out.append(10)
                }
                let j = min(i + 76, raw.count)
                out.append(contentsOf: raw[i..<j])
                i = j
            }
        }
    }

    /// `Name: value`, folded before encoded words and addresses so lines stay short (≤ 998 octets always).
    static func header(_ name: String, _ value: String) -> String {
        var out = name + ":"
        var lineLength = out.utf8.count
        for token in value.split(separator: " ", omittingEmptySubsequences: false) {
            if lineLength + 1 + token.utf8.count > 76 && lineLength > name.utf8.count + 1 {
                out += "\r\n"
                lineLength = 0
            }
            out += " " + token
            lineLength += 1 + token.utf8.count
        }
        return out
    }

    /// Control characters (CR, LF, tab …) never reach a header: a name with a newline must not add a header.
    static func clean(_ text: String) -> String {
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 }))
    }

    /// Text for an unstructured header: as it is when plain ASCII, else RFC 2047 encoded words.
    static func words(_ text: String) -> String {
        let t = clean(text)
        if plain(t) { return t }
        return encodedWords(t).joined(separator: " ")
    }

    /// A display name: a quoted string when ASCII, else encoded words.
    static func phrase(_ text: String) -> String {
        let t = clean(text)
        if plain(t) {
            return "\"" + t.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        return encodedWords(t).joined(separator: " ")
    }

    /// ASCII with no word too long to fold (a 2,000-character word would make a line over 998 octets).
    static func plain(_ t: String) -> Bool {
        t.unicodeScalars.allSatisfy({ $0.isASCII }) && !t.contains("=?") && !t.split(separator: " ").contains { $0.utf8.count > 70 }
    }

    static func address(_ a: MailAddress) -> String {
        guard let name = a.name, !name.isEmpty else { return "<\(a.address)>" }
        return phrase(name) + " <\(a.address)>"
    }

    /// `=?UTF-8?B?…?=` words of at most 75 characters, split between Unicode scalars (45 bytes each at most).
    static func encodedWords(_ text: String) -> [String] {
        var out: [String] = []
        var chunk: [UInt8] = []
        for scalar in text.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            if chunk.count + bytes.count > 45 {
                out.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty || out.isEmpty { out.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=") }
        return out
    }

    /// `Thu, 03 Dec 2026 06:00:00 +0000`, always UTC, English names (a DateFormatter per message was a tenth of
    /// planning a large night).
    static func rfc5322Date(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let inDay = seconds - days * 86_400
        let (year, month, day) = AsOfDate.civilFromDays(days)
        let weekday = ((days % 7) + 7 + 4) % 7  // 1970-01-01 was a Thursday
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let names = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return "\(names[weekday]), \(two(day)) \(months[month - 1]) \(year) \(two(inDay / 3600)):\(two(inDay / 60 % 60)):\(two(inDay % 60)) +0000"
    }
}
