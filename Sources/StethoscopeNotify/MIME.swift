import Foundation

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

        public init(from: MailAddress, replyTo: MailAddress? = nil, to: [MailAddress], cc: [MailAddress] = [], subject: String,
                    date: Date, messageID: String, listID: (name: String, id: String)? = nil, text: String, html: String) {
            self.from = from; self.replyTo = replyTo; self.to = to; self.cc = cc; self.subject = subject; self.date = date
            self.messageID = messageID; self.listID = listID; self.text = text; self.html = html
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
        for (type, body) in [("text/plain", m.text), ("text/html", m.html)] {
            lines.append("--\(boundary)")
            lines.append("Content-Type: \(type); charset=utf-8")
            lines.append("Content-Transfer-Encoding: base64")
            lines.append("")
            lines.append(contentsOf: base64Lines(Array(normalizeNewlines(body).utf8)))
        }
        lines.append("--\(boundary)--")
        lines.append("")
        return Array(lines.joined(separator: "\r\n").utf8)
    }

    /// Body text with CRLF line ends (the canonical form of text/* parts).
    static func normalizeNewlines(_ text: String) -> String {
        text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .replacingOccurrences(of: "\n", with: "\r\n")
    }

    static func base64Lines(_ bytes: [UInt8]) -> [String] {
        let encoded = Data(bytes).base64EncodedString()
        var out: [String] = []
        var i = encoded.startIndex
        while i < encoded.endIndex {
            let j = encoded.index(i, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            out.append(String(encoded[i..<j]))
            i = j
        }
        return out
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
        String(String.UnicodeScalarView(text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 }))
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

    static func rfc5322Date(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return f.string(from: date)
    }
}
