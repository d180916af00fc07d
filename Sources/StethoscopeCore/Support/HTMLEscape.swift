/// HTML escaping, for every page and message the project writes.
public enum HTML {
    /// The one escaping function for HTML text and attribute values alike: `& < > " '` become entities, and
    /// control characters (not allowed in HTML text; a device name may carry anything) become spaces, except the
    /// line feed and tab. Decided on code points alone (C0, DEL and C1 are exactly Unicode's control category),
    /// without the Unicode tables: escaping a large night's pages is mostly this function.
    public static func escape(_ s: String) -> String {
        guard needsEscaping(s) else { return s }
        var out = ""
        out.reserveCapacity(s.utf8.count + 16)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\n", "\t": out.unicodeScalars.append(c)
            default:
                if c.value < 0x20 || (0x7F...0x9F).contains(c.value) { out += " " } else { out.unicodeScalars.append(c) }
            }
        }
        return out
    }

    /// Whether `escape` changes `s`: one of `& < > " '`, a C0 control other than line feed and tab, DEL, or a C1
    /// control (U+0080–U+009F, UTF-8 `C2 80`–`C2 9F`).
    private static func needsEscaping(_ s: String) -> Bool {
        var afterC2 = false
        for b in s.utf8 {
            switch b {
            case 38, 60, 62, 34, 39, 0x7F: return true
            case 0x0A, 0x09: break
            case 0..<0x20: return true
            case 0x80...0x9F where afterC2: return true
            default: break
            }
            afterC2 = b == 0xC2
        }
        return false
    }
}
